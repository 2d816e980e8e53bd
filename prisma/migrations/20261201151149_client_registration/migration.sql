-- AlterTable
ALTER TABLE "Client" ADD COLUMN "registrationTokenHash" TEXT;

-- Demo data: the demo service may register clients (its tokens are the initial access tokens),
-- when it asks for it by name: its default scopes stay what they were.
UPDATE "Client" SET "defaultScopes" = COALESCE("defaultScopes", "scopes"), "scopes" = "scopes" || ' register_clients'
WHERE "clientId" = 'demo-service'
  AND ' ' || "scopes" || ' ' NOT LIKE '% register_clients %'
  AND "workspaceId" IN (SELECT w."id" FROM "Workspace" w JOIN "Tenant" t ON t."id" = w."tenantId" WHERE t."slug" = 'demo' AND w."slug" = 'default');
