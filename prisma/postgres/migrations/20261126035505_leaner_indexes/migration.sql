/*
  Warnings:

  - The primary key for the `RefreshToken` table will be changed. If it partially fails, the table could be left without primary key constraint.
  - You are about to drop the column `id` on the `RefreshToken` table. All the data in the column will be lost.

*/
-- DropIndex
DROP INDEX "AuditEvent_outcome_createdAt_idx";

-- DropIndex
DROP INDEX "AuditEvent_userId_createdAt_idx";

-- DropIndex
DROP INDEX "AuditEvent_workspaceId_createdAt_idx";

-- DropIndex
DROP INDEX "RefreshToken_expiresAt_idx";

-- DropIndex
DROP INDEX "RefreshToken_tokenHash_key";

-- AlterTable
ALTER TABLE "RefreshToken" DROP CONSTRAINT "RefreshToken_pkey",
DROP COLUMN "id",
ADD CONSTRAINT "RefreshToken_pkey" PRIMARY KEY ("tokenHash");

-- CreateIndex
CREATE INDEX "AuditEvent_username_createdAt_idx" ON "AuditEvent"("username", "createdAt");
