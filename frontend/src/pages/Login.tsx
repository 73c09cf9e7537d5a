import { useState, type FormEvent } from "react";
import { Navigate, useLocation, useNavigate } from "react-router";
import { ApiError } from "../api/client";
import { login, useResetSession, useSession } from "../auth";
import { TextInput } from "../components/ui";

export default function Login() {
  const { me } = useSession();
  const reset = useResetSession();
  const navigate = useNavigate();
  const location = useLocation();
  const from = (location.state as { from?: string } | null)?.from ?? "/campaigns";
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  if (me) return <Navigate to={from} replace />;

  async function onSubmit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const user = await login(username, password);
      await reset(user);
      navigate(from, { replace: true });
    } catch (caught) {
      setError(caught instanceof ApiError ? caught : new ApiError(0, null));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="login-page" id="main">
      <form className="card login-card" onSubmit={onSubmit} noValidate>
        <h1>Callcenter</h1>
        <p className="muted">Campañas de cobranza por llamadas</p>
        {error?.detail && (
          <div className="alert alert-error" role="alert">
            {error.detail}
          </div>
        )}
        <TextInput
          label="Usuario"
          name="username"
          autoComplete="username"
          value={username}
          onChange={(event) => setUsername(event.target.value)}
          errors={error?.field("username")}
          required
        />
        <TextInput
          label="Contraseña"
          name="password"
          type="password"
          autoComplete="current-password"
          value={password}
          onChange={(event) => setPassword(event.target.value)}
          errors={error?.field("password")}
          required
        />
        <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
          {busy ? "Ingresando…" : "Ingresar"}
        </button>
      </form>
    </main>
  );
}
