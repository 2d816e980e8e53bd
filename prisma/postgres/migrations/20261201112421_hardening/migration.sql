-- DropIndex
DROP INDEX "FailedLogin_workspaceId_username_ip_idx";

-- AlterTable
ALTER TABLE "AuditEvent" ADD COLUMN     "count" INTEGER NOT NULL DEFAULT 1;

-- AlterTable
ALTER TABLE "Client" ADD COLUMN     "sessionTtl" INTEGER;

-- AlterTable
ALTER TABLE "FailedLogin" ADD COLUMN     "kind" TEXT NOT NULL DEFAULT 'user';

-- AlterTable
ALTER TABLE "Workspace" ADD COLUMN     "sessionTtl" INTEGER;

-- CreateTable
CREATE TABLE "Session" (
    "id" TEXT NOT NULL,
    "workspaceId" TEXT NOT NULL,
    "clientId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "amr" TEXT NOT NULL,
    "authTime" INTEGER NOT NULL,
    "expiresAt" TIMESTAMP(3) NOT NULL,
    "endedAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Session_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "KnownAddress" (
    "userId" TEXT NOT NULL,
    "address" TEXT NOT NULL,
    "lastSignInAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "KnownAddress_pkey" PRIMARY KEY ("userId","address")
);

-- CreateIndex
CREATE INDEX "Session_userId_idx" ON "Session"("userId");

-- CreateIndex
CREATE INDEX "Session_expiresAt_idx" ON "Session"("expiresAt");

-- CreateIndex
CREATE INDEX "KnownAddress_lastSignInAt_idx" ON "KnownAddress"("lastSignInAt");

-- CreateIndex
CREATE INDEX "FailedLogin_workspaceId_username_createdAt_idx" ON "FailedLogin"("workspaceId", "username", "createdAt");

-- CreateIndex
CREATE INDEX "RefreshToken_expiresAt_idx" ON "RefreshToken"("expiresAt");

-- AddForeignKey
ALTER TABLE "Session" ADD CONSTRAINT "Session_clientId_fkey" FOREIGN KEY ("clientId") REFERENCES "Client"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "Session" ADD CONSTRAINT "Session_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "KnownAddress" ADD CONSTRAINT "KnownAddress_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Sign-ins made before sessions existed: one session per refresh-token family, ending when its
-- newest token would have, so that nobody is signed out by the upgrade.
INSERT INTO "Session" ("id", "workspaceId", "clientId", "userId", "amr", "authTime", "expiresAt", "createdAt")
SELECT r."familyId", c."workspaceId", r."clientId", r."userId", 'pwd', MIN(r."authTime"), MAX(r."expiresAt"), MIN(r."createdAt")
FROM "RefreshToken" r JOIN "Client" c ON c."id" = r."clientId"
GROUP BY r."familyId", c."workspaceId", r."clientId", r."userId";
