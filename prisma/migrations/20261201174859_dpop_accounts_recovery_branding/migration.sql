-- AlterTable
ALTER TABLE "Session" ADD COLUMN "dpopJkt" TEXT;
ALTER TABLE "Session" ADD COLUMN "ip" TEXT;
ALTER TABLE "Session" ADD COLUMN "userAgent" TEXT;

-- CreateTable
CREATE TABLE "UsedDpopProof" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "expiresAt" DATETIME NOT NULL
);

-- CreateTable
CREATE TABLE "AccountToken" (
    "tokenHash" TEXT NOT NULL PRIMARY KEY,
    "purpose" TEXT NOT NULL,
    "workspaceId" TEXT NOT NULL,
    "userId" TEXT NOT NULL,
    "clientId" TEXT,
    "email" TEXT,
    "expiresAt" DATETIME NOT NULL,
    "usedAt" DATETIME,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "AccountToken_userId_fkey" FOREIGN KEY ("userId") REFERENCES "User" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);

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
    "jwtSecret" TEXT,
    "jwks" TEXT,
    "jwksUri" TEXT,
    "authMethods" TEXT NOT NULL,
    "authSigningAlg" TEXT,
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
    "dpopBoundAccessTokens" BOOLEAN NOT NULL DEFAULT false,
    "passwordResetUri" TEXT,
    "disabled" BOOLEAN NOT NULL DEFAULT false,
    "registrationTokenHash" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" DATETIME NOT NULL,
    CONSTRAINT "Client_workspaceId_fkey" FOREIGN KEY ("workspaceId") REFERENCES "Workspace" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_Client" ("accessTokenTtl", "allowedOrigins", "audiences", "authMethods", "clientId", "createdAt", "defaultScopes", "disabled", "forwardsEndUserIp", "grantTypes", "id", "idTokenSignedResponseAlg", "idTokenTtl", "jwks", "jwksUri", "jwtSecret", "mfaPolicy", "name", "refreshTokenTtl", "registrationTokenHash", "scopes", "secretHash", "sessionTtl", "type", "updatedAt", "workspaceId") SELECT "accessTokenTtl", "allowedOrigins", "audiences", "authMethods", "clientId", "createdAt", "defaultScopes", "disabled", "forwardsEndUserIp", "grantTypes", "id", "idTokenSignedResponseAlg", "idTokenTtl", "jwks", "jwksUri", "jwtSecret", "mfaPolicy", "name", "refreshTokenTtl", "registrationTokenHash", "scopes", "secretHash", "sessionTtl", "type", "updatedAt", "workspaceId" FROM "Client";
DROP TABLE "Client";
ALTER TABLE "new_Client" RENAME TO "Client";
CREATE UNIQUE INDEX "Client_workspaceId_clientId_key" ON "Client"("workspaceId", "clientId");
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
    "dpopNonces" BOOLEAN NOT NULL DEFAULT false,
    "passwordMinLength" INTEGER NOT NULL DEFAULT 8,
    "brandName" TEXT,
    "brandLogoUrl" TEXT,
    "brandLogoImage" BLOB,
    "brandLogoType" TEXT,
    "brandAccent" TEXT,
    "brandHelpUrl" TEXT,
    "brandTermsUrl" TEXT,
    "brandPrivacyUrl" TEXT,
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

-- CreateIndex
CREATE INDEX "UsedDpopProof_expiresAt_idx" ON "UsedDpopProof"("expiresAt");

-- CreateIndex
CREATE INDEX "AccountToken_userId_purpose_createdAt_idx" ON "AccountToken"("userId", "purpose", "createdAt");

-- CreateIndex
CREATE INDEX "AccountToken_expiresAt_idx" ON "AccountToken"("expiresAt");
