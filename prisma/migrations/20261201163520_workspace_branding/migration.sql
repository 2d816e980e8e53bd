-- AlterTable
ALTER TABLE "Workspace" ADD COLUMN "brandAccent" TEXT;
ALTER TABLE "Workspace" ADD COLUMN "brandHelpUrl" TEXT;
ALTER TABLE "Workspace" ADD COLUMN "brandLogoImage" BLOB;
ALTER TABLE "Workspace" ADD COLUMN "brandLogoType" TEXT;
ALTER TABLE "Workspace" ADD COLUMN "brandLogoUrl" TEXT;
ALTER TABLE "Workspace" ADD COLUMN "brandName" TEXT;
ALTER TABLE "Workspace" ADD COLUMN "brandPrivacyUrl" TEXT;
ALTER TABLE "Workspace" ADD COLUMN "brandTermsUrl" TEXT;
