import { and, eq, gt, isNull } from "drizzle-orm";
import { refreshTokens, users } from "../../db/schema.ts";
import { callerColumns } from "../../lib/auth.ts";
import type { Db } from "../../lib/db.ts";
import { AppError } from "../../lib/errors.ts";
import { containsText } from "../../lib/sql.ts";
import type { Caller } from "../../types.ts";

export async function listUsers(db: Db, query: { q?: string; afterId?: number; limit: number }) {
	return db
		.select(callerColumns)
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

/** An admin may change anyone but itself: it can neither deactivate nor demote its own account. */
export async function updateUser(
	db: Db,
	actor: Caller,
	userId: number,
	patch: { isActive?: boolean; role?: "user" | "admin" },
): Promise<Caller> {
	if (userId === actor.id && (patch.isActive === false || patch.role === "user")) {
		throw new AppError(
			"ADMIN_SELF_MODIFICATION",
			"An admin cannot deactivate or demote its own account",
			patch.isActive === false ? "is_active" : "role",
		);
	}
	if (patch.isActive === undefined && patch.role === undefined) {
		const user = await db.select(callerColumns).from(users).where(eq(users.id, userId)).get();
		if (!user) throw new AppError("USER_NOT_FOUND", "No user with this id", "id");
		return user;
	}
	const now = new Date().toISOString();
	const update = db
		.update(users)
		.set({ isActive: patch.isActive, role: patch.role, updatedAt: now })
		.where(eq(users.id, userId))
		.returning(callerColumns);
	// Deactivation revokes the refresh tokens in the same transaction, so none can mint new access tokens.
	const [updated] =
		patch.isActive === false
			? await db.batch([
					update,
					db
						.update(refreshTokens)
						.set({ revokedAt: now })
						.where(and(eq(refreshTokens.userId, userId), isNull(refreshTokens.revokedAt))),
				])
			: [await update];
	const user = updated[0];
	if (!user) throw new AppError("USER_NOT_FOUND", "No user with this id", "id");
	return user;
}
