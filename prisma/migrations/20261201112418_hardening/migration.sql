-- AlterTable
ALTER TABLE "Client" ADD COLUMN "sessionTtl" INTEGER;

-- AlterTable
ALTER TABLE "Workspace" ADD COLUMN "sessionTtl" INTEGER;

-- CreateTable
CREATE TABLE "Session" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "workspaceId" TEXT NOT NULL,
    "clientId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "amr" TEXT NOT NULL,
    "authTime" INTEGER NOT NULL,
    "expiresAt" DATETIME NOT NULL,
    "endedAt" DATETIME,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "Session_clientId_fkey" FOREIGN KEY ("clientId") REFERENCES "Client" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "Session_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- CreateTable
CREATE TABLE "KnownAddress" (
    "userId" TEXT NOT NULL,
    "address" TEXT NOT NULL,
    "lastSignInAt" DATETIME NOT NULL,

    PRIMARY KEY ("userId", "address"),
    CONSTRAINT "KnownAddress_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_AuditEvent" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "workspaceId" TEXT,
    "clientId" TEXT,
    "userId" TEXT,
    "username" TEXT,
    "ip" TEXT,
    "userAgent" TEXT,
    "event" TEXT NOT NULL,
    "outcome" TEXT NOT NULL,
    "reason" TEXT,
    "requestId" TEXT,
    "count" INTEGER NOT NULL DEFAULT 1
);
INSERT INTO "new_AuditEvent" ("clientId", "createdAt", "event", "id", "ip", "outcome", "reason", "requestId", "userAgent", "userId", "username", "workspaceId") SELECT "clientId", "createdAt", "event", "id", "ip", "outcome", "reason", "requestId", "userAgent", "userId", "username", "workspaceId" FROM "AuditEvent";
DROP TABLE "AuditEvent";
ALTER TABLE "new_AuditEvent" RENAME TO "AuditEvent";
CREATE INDEX "AuditEvent_createdAt_idx" ON "AuditEvent"("createdAt");
CREATE INDEX "AuditEvent_username_createdAt_idx" ON "AuditEvent"("username", "createdAt");
CREATE TABLE "new_FailedLogin" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "workspaceId" TEXT NOT NULL,
    "kind" TEXT NOT NULL DEFAULT 'user',
    "username" TEXT NOT NULL,
    "ip" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
INSERT INTO "new_FailedLogin" ("createdAt", "id", "ip", "username", "workspaceId") SELECT "createdAt", "id", "ip", "username", "workspaceId" FROM "FailedLogin";
DROP TABLE "FailedLogin";
ALTER TABLE "new_FailedLogin" RENAME TO "FailedLogin";
CREATE INDEX "FailedLogin_workspaceId_ip_createdAt_idx" ON "FailedLogin"("workspaceId", "ip", "createdAt");
CREATE INDEX "FailedLogin_workspaceId_username_createdAt_idx" ON "FailedLogin"("workspaceId", "username", "createdAt");
CREATE INDEX "FailedLogin_createdAt_idx" ON "FailedLogin"("createdAt");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

-- CreateIndex
CREATE INDEX "Session_userId_idx" ON "Session"("userId");

-- CreateIndex
CREATE INDEX "Session_expiresAt_idx" ON "Session"("expiresAt");

-- CreateIndex
CREATE INDEX "KnownAddress_lastSignInAt_idx" ON "KnownAddress"("lastSignInAt");

-- CreateIndex
CREATE INDEX "RefreshToken_expiresAt_idx" ON "RefreshToken"("expiresAt");

-- Sign-ins made before sessions existed: one session per refresh-token family, ending when its
-- newest token would have, so that nobody is signed out by the upgrade.
INSERT INTO "Session" ("id", "workspaceId", "clientId", "userId", "amr", "authTime", "expiresAt", "createdAt")
SELECT r."familyId", c."workspaceId", r."clientId", r."userId", 'pwd', MIN(r."authTime"), MAX(r."expiresAt"), MIN(r."createdAt")
FROM "RefreshToken" r JOIN "Client" c ON c."id" = r."clientId"
GROUP BY r."familyId", c."workspaceId", r."clientId", r."userId";
