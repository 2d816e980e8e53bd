-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Client" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "workspaceId" TEXT NOT NULL,
    "clientId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "type" TEXT NOT NULL DEFAULT 'confidential',
    "secretHash" TEXT,
    "authMethods" TEXT NOT NULL,
    "grantTypes" TEXT NOT NULL,
    "scopes" TEXT NOT NULL,
    "defaultScopes" TEXT,
    "audiences" TEXT NOT NULL DEFAULT '',
    "accessTokenTtl" INTEGER,
    "idTokenTtl" INTEGER,
    "idTokenSignedResponseAlg" TEXT NOT NULL DEFAULT 'ES256',
    "refreshTokenTtl" INTEGER,
    "sessionTtl" INTEGER,
    "allowedOrigins" TEXT NOT NULL DEFAULT '',
    "forwardsEndUserIp" BOOLEAN NOT NULL DEFAULT false,
    "mfaPolicy" TEXT,
    "disabled" BOOLEAN NOT NULL DEFAULT false,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "Client_workspaceId_fkey" FOREIGN KEY ("workspaceId") REFERENCES "Workspace" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_Client" ("accessTokenTtl", "allowedOrigins", "audiences", "authMethods", "clientId", "createdAt", "defaultScopes", "disabled", "forwardsEndUserIp", "grantTypes", "id", "idTokenTtl", "mfaPolicy", "name", "refreshTokenTtl", "scopes", "secretHash", "sessionTtl", "type", "updatedAt", "workspaceId") SELECT "accessTokenTtl", "allowedOrigins", "audiences", "authMethods", "clientId", "createdAt", "defaultScopes", "disabled", "forwardsEndUserIp", "grantTypes", "id", "idTokenTtl", "mfaPolicy", "name", "refreshTokenTtl", "scopes", "secretHash", "sessionTtl", "type", "updatedAt", "workspaceId" FROM "Client";
DROP TABLE "Client";
ALTER TABLE "new_Client" RENAME TO "Client";
CREATE UNIQUE INDEX "Client_workspaceId_clientId_key" ON "Client"("workspaceId", "clientId");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;
