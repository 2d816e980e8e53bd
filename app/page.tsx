export default function Home() {
  return (
    <main>
      <h1>ROPC login kit</h1>
      <p>
        The demo workspace&apos;s authorization server is at <code>/demo/default</code>: see{" "}
        <a href="/demo/default/.well-known/openid-configuration">its discovery document</a>.
      </p>
    </main>
  );
}
