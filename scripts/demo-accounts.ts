/**
 * The local-only demo accounts `npm run dev` seeds (scripts/seed.ts) and `npm run demo` signs in with. They
 * exist only in the local D1 under .wrangler/; a production Worker refuses `.local` admins.
 */
export const DEMO_ADMIN = { email: "admin@bookstore.local", password: "admin-password-local" };
export const DEMO_READER = { email: "reader@bookstore.local", password: "reader-password-local" };
