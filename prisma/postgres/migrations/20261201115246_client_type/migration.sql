-- AlterTable
ALTER TABLE "Client" ADD COLUMN     "type" TEXT NOT NULL DEFAULT 'confidential';

-- Clients made before the type was stored: a client without a secret is public.
UPDATE "Client" SET "type" = 'public' WHERE "secretHash" IS NULL;
