import { useState } from "react";
import { parseToken, saveSession, type Session } from "../auth";

export function SignIn({ onSignedIn }: { onSignedIn: (s: Session) => void }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | null>(null);

  const submit = (event: React.FormEvent) => {
    event.preventDefault();
    const parsed = parseToken(token);
    if (typeof parsed === "string") {
      setError(parsed);
      return;
    }
    saveSession(parsed);
    onSignedIn(parsed);
  };

  return (
    <main className="sign-in" id="main">
      <form onSubmit={submit} aria-describedby="token-help" noValidate>
        <h1>Sign in to REX</h1>
        <label htmlFor="token">Access token</label>
        <textarea
          id="token"
          name="token"
          rows={5}
          value={token}
          onChange={(e) => setToken(e.target.value)}
          autoComplete="off"
          spellCheck={false}
          required
          aria-invalid={error ? true : undefined}
          aria-errormessage={error ? "token-error" : undefined}
        />
        <p id="token-help" className="muted">
          Paste a bearer token. Locally: <code>make token ORG=acme USER_ID=alice ROLE=admin</code>. Everything you see is scoped to the token&apos;s organization.
        </p>
        {error ? (
          <p id="token-error" className="error" role="alert">
            {error}
          </p>
        ) : null}
        <button type="submit" className="primary">
          Sign in
        </button>
      </form>
    </main>
  );
}
