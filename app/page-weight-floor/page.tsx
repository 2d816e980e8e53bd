// The floor of the page-weight budget (e2e/page-weight.ts): an App Router page with nothing of
// ours but the root layout and a heading, so that the JavaScript it loads is Next's and React's
// alone. Harmless in production: it shows nothing and is not indexed.
export const metadata = { title: "Sign in", robots: { index: false } };

export default function PageWeightFloor() {
  return (
    <main className="card">
      <h1>Nothing here</h1>
    </main>
  );
}
