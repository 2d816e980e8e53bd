// The benchmark's database: the demo data plus BENCH_USERS users bench-0..N with one password
// (hashed once: every row gets the same argon2id hash, which costs the same to verify).
import { db } from "@/lib/platform/db.ts";
import { hashPassword } from "@/lib/platform/passwords.ts";
import { seedDemo } from "../../prisma/seed.ts";

await seedDemo();
const workspace = await db().workspace.findFirstOrThrow({ where: { slug: "default", tenant: { slug: "demo" } } });
const passwordHash = await hashPassword(process.env.BENCH_PASSWORD ?? "bench-password-1");
const count = Number(process.env.BENCH_USERS ?? 100);
await db().user.createMany({
  data: Array.from({ length: count }, (_, i) => ({
    workspaceId: workspace.id,
    username: `bench-${i}`,
    passwordHash,
    email: `bench-${i}@example.com`,
    emailVerified: true,
    name: `Bench ${i}`,
  })),
});
await db().$disconnect();
