/**
 * Accounts as admins and their owners see them. Every rule that protects the store's administration is
 * decided inside the statement that changes a user, never read beforehand: the caller guard (lib/db.ts)
 * re-checks the acting admin in the same transaction, and the last-admin condition is part of the UPDATE,
 * so two admins demoting each other at once can never leave the store without an active admin.
 */
import { and, eq, gt, isNull, sql } from "drizzle-orm";
import { refreshTokens, users } from "../../db/schema.ts";
import type { Db } from "../../lib/db.ts";
import { AppError } from "../../lib/errors.ts";
import { containsText } from "../../lib/sql.ts";
import type { UserView } from "./users.schemas.ts";

/** The columns of a `UserView`. */
export const userColumns = {
	id: users.id,
	email: users.email,
	fullName: users.fullName,
	role: users.role,
	isActive: users.isActive,
	createdAt: users.createdAt,
};

const userNotFound = () => new AppError("USER_NOT_FOUND", "No user with this id", "id");

export async function getUser(db: Db, userId: number): Promise<UserView> {
	const user = await db.select(userColumns).from(users).where(eq(users.id, userId)).get();
	if (!user) throw userNotFound();
	return user;
}

export function listUsers(db: Db, query: { q?: string; afterId?: number; limit: number }) {
	return db
		.select(userColumns)
		.from(users)
		.where(
			and(
				query.q ? containsText(users.email, query.q) : undefined,
				query.afterId !== undefined ? gt(users.id, query.afterId) : undefined,
			),
		)
		.orderBy(users.id)
		.limit(query.limit + 1);
}

/**
 * True inside SQL when changing `users` row to (role, active) would take away the store's last active
 * admin. Evaluated in the UPDATE's own WHERE, against the transaction's view of the table.
 */
export const leavesNoActiveAdmin = (
	role: "user" | "admin" | undefined,
	isActive: boolean | undefined,
) => sql`(
	${users.role} = 'admin' AND ${users.isActive} = 1
	AND (${role ?? null} = 'user' OR ${isActive === undefined ? null : Number(isActive)} = 0)
	AND (SELECT count(*) FROM users AS admins WHERE admins.role = 'admin' AND admins.is_active = 1) <= 1)`;

/**
 * An admin may change anyone but itself (ADMIN_SELF_MODIFICATION, checked first), and never the last
 * active admin (ADMIN_LAST). Deactivation bumps the token version, which ends every access token issued
 * before it (a reactivation does not revive them), and revokes the refresh tokens — all in one batch.
 */
export async function updateUser(
	db: Db,
	actorId: number,
	userId: number,
	patch: { isActive?: boolean; role?: "user" | "admin" },
): Promise<UserView> {
	if (userId === actorId && (patch.isActive === false || patch.role === "user")) {
		throw new AppError(
			"ADMIN_SELF_MODIFICATION",
			"An admin cannot deactivate or demote its own account",
			patch.isActive === false ? "is_active" : "role",
		);
	}
	if (patch.isActive === undefined && patch.role === undefined) return getUser(db, userId);
	const now = new Date().toISOString();
	const deactivating = patch.isActive === false;
	const [updated, , found] = await db.batch([
		db
			.update(users)
			.set({
				isActive: patch.isActive,
				role: patch.role,
				updatedAt: now,
				tokenVersion: deactivating ? sql`${users.tokenVersion} + 1` : undefined,
			})
			.where(and(eq(users.id, userId), sql`NOT ${leavesNoActiveAdmin(patch.role, patch.isActive)}`))
			.returning(userColumns),
		// Only when the UPDATE above deactivated the user (same transaction, so it sees the new state).
		db
			.update(refreshTokens)
			.set({ revokedAt: now })
			.where(
				and(
					eq(refreshTokens.userId, userId),
					isNull(refreshTokens.revokedAt),
					deactivating ? sql`(SELECT is_active FROM users WHERE id = ${userId}) = 0` : sql`0`,
				),
			),
		db.select({ id: users.id }).from(users).where(eq(users.id, userId)),
	]);
	const user = updated[0];
	if (user) return user;
	if (found.length === 0) throw userNotFound();
	throw new AppError(
		"ADMIN_LAST",
		"This is the last active admin: promote another user first",
		patch.isActive === false ? "is_active" : "role",
	);
}
