import { lazy, Suspense, useCallback, useEffect, useState } from "react";
import { configure } from "./api/client";
import { clearSession, loadSession, type Session } from "./auth";
import { Loading } from "./components/ui";
import { Dashboard } from "./pages/Dashboard";
import { SignIn } from "./pages/SignIn";
import { match, navigate, onLinkClick, usePath } from "./router";

// The dashboard is the landing page and ships in the main bundle (first chart fast); the
// other pages load when first opened.
const Budgets = lazy(() => import("./pages/Budgets"));
const BudgetEdit = lazy(() => import("./pages/BudgetEdit"));
const BudgetDetail = lazy(() => import("./pages/BudgetDetail"));
const NewEvaluation = lazy(() => import("./pages/NewEvaluation"));
const EvaluationView = lazy(() => import("./pages/EvaluationView"));

const NAV = [
  { href: "/", label: "Cost dashboard" },
  { href: "/budgets", label: "Budgets" },
  { href: "/evaluations/new", label: "New evaluation" },
];

function Page({ path, session }: { path: string; session: Session }) {
  let params: Record<string, string> | null;
  if (path === "/" || path === "/dashboard") return <Dashboard session={session} />;
  if (path === "/budgets") return <Budgets session={session} />;
  if (path === "/budgets/new") return <BudgetEdit session={session} />;
  if ((params = match("/budgets/:id/edit", path))) return <BudgetEdit session={session} id={params.id} />;
  if ((params = match("/budgets/:id", path))) return <BudgetDetail session={session} id={params.id!} />;
  if (path === "/evaluations/new") return <NewEvaluation session={session} />;
  if ((params = match("/evaluations/:id", path))) return <EvaluationView id={params.id!} />;
  return (
    <section className="panel">
      <h1>Page not found</h1>
      <p>
        <a href="/">Back to the cost dashboard</a>
      </p>
    </section>
  );
}

export function App() {
  const path = usePath();
  const [session, setSession] = useState<Session | null>(() => loadSession());
  const signOut = useCallback(() => {
    clearSession();
    setSession(null);
  }, []);

  if (session) configure(session.token, signOut);

  useEffect(() => {
    const title = NAV.find((n) => n.href === path)?.label ?? (path.startsWith("/budgets") ? "Budgets" : "Evaluation");
    document.title = session ? `${title} · REX` : "Sign in · REX";
  }, [path, session]);

  if (!session)
    return (
      <SignIn
        onSignedIn={(s) => {
          configure(s.token, signOut);
          setSession(s);
          if (path === "/sign-in") navigate("/");
        }}
      />
    );

  return (
    <div className="shell" onClick={onLinkClick}>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand" aria-label="REX">
          REX
        </span>
        <nav aria-label="Main">
          <ul>
            {NAV.map((n) => (
              <li key={n.href}>
                <a href={n.href} aria-current={path === n.href || (n.href === "/budgets" && path.startsWith("/budgets")) ? "page" : undefined}>
                  {n.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div className="who">
          <span data-testid="org">
            Org <strong>{session.orgId}</strong> · {session.userId} ({session.roles.join(", ") || "no role"})
          </span>
          <button type="button" className="link" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <Suspense fallback={<Loading what="page" />}>
          <Page path={path} session={session} />
        </Suspense>
      </main>
    </div>
  );
}
