-- AlterTable
ALTER TABLE "Session" ADD COLUMN "ip" TEXT;
ALTER TABLE "Session" ADD COLUMN "lastUsedAt" DATETIME;
ALTER TABLE "Session" ADD COLUMN "userAgent" TEXT;

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Workspace" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "tenantId" TEXT NOT NULL,
    "slug" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "identityPoolId" TEXT NOT NULL,
    "defaultScopes" TEXT NOT NULL DEFAULT 'openid profile email',
    "accessTokenTtl" INTEGER NOT NULL DEFAULT 3600,
    "idTokenTtl" INTEGER NOT NULL DEFAULT 3600,
    "refreshTokenTtl" INTEGER NOT NULL DEFAULT 604800,
    "sessionTtl" INTEGER,
    "mfaPolicy" TEXT NOT NULL DEFAULT 'optional',
    "passwordMinLength" INTEGER NOT NULL DEFAULT 8,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "Workspace_tenantId_fkey" FOREIGN KEY ("tenantId") REFERENCES "Tenant" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_Workspace" ("accessTokenTtl", "createdAt", "defaultScopes", "id", "idTokenTtl", "identityPoolId", "mfaPolicy", "name", "refreshTokenTtl", "sessionTtl", "slug", "tenantId", "updatedAt") SELECT "accessTokenTtl", "createdAt", "defaultScopes", "id", "idTokenTtl", "identityPoolId", "mfaPolicy", "name", "refreshTokenTtl", "sessionTtl", "slug", "tenantId", "updatedAt" FROM "Workspace";
DROP TABLE "Workspace";
ALTER TABLE "new_Workspace" RENAME TO "Workspace";
CREATE UNIQUE INDEX "Workspace_identityPoolId_key" ON "Workspace"("identityPoolId");
CREATE UNIQUE INDEX "Workspace_tenantId_slug_key" ON "Workspace"("tenantId", "slug");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;
