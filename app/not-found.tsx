import { PageFrame } from "@/lib/login/ui/page-frame.tsx";
import Link from "next/link";
import { connection } from "next/server";

export const metadata = { title: "Page not found" };

export default async function NotFound() {
  // Rendered per request, like the other pages: Next puts this request's CSP nonce on its scripts
  // only when it renders the page for the request.
  await connection();
  return (
    <PageFrame>
      <h1>Page not found</h1>
      <p>There is no page at this address.</p>
      <p>
        <Link href="/">Go to the start page</Link>
      </p>
    </PageFrame>
  );
}
