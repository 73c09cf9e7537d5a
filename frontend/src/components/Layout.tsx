import { useQuery } from "@tanstack/react-query";
import { NavLink, Outlet, useNavigate } from "react-router";
import { api, unwrap } from "../api/client";
import { logout, useResetSession, useSession } from "../auth";

/** The frame of every signed-in screen: navigation, the staff's account selector, logout. */
export default function Layout() {
  const { me, accountId, setAccountId } = useSession();
  const reset = useResetSession();
  const navigate = useNavigate();
  const accounts = useQuery({
    queryKey: ["accounts", "selector"],
    queryFn: () => unwrap(api.GET("/api/v1/accounts", { params: { query: { page_size: 500 } } })),
    enabled: !!me?.is_staff,
    staleTime: 60_000,
  });

  async function onLogout() {
    try {
      await logout();
    } finally {
      await reset(null);
      navigate("/login", { replace: true });
    }
  }

  return (
    <div className="shell">
      <a className="skip-link" href="#main">
        Saltar al contenido
      </a>
      <header className="topbar">
        <span className="brand">Callcenter</span>
        <nav aria-label="Principal" className="mainnav">
          <NavLink to="/campaigns">Campañas</NavLink>
          <NavLink to="/dashboard">Panel</NavLink>
          {me?.is_staff ? (
            <NavLink to="/accounts">Cuentas</NavLink>
          ) : (
            me?.account_id && <NavLink to={`/accounts/${me.account_id}`}>Mi cuenta</NavLink>
          )}
        </nav>
        <div className="topbar-right">
          {me?.is_staff && (
            <label className="account-selector">
              <span>Cuenta</span>
              <select value={accountId} onChange={(event) => setAccountId(event.target.value)}>
                <option value="">Todas las cuentas</option>
                {accounts.data?.results.map((account) => (
                  <option key={account.account_id} value={account.account_id}>
                    {account.account_name}
                  </option>
                ))}
              </select>
            </label>
          )}
          <span className="user" title={me?.account_name ?? "Operador"}>
            {me?.username}
            {me && !me.is_staff && me.account_name ? ` · ${me.account_name}` : ""}
          </span>
          <button type="button" className="btn btn-small" onClick={onLogout}>
            Salir
          </button>
        </div>
      </header>
      <main id="main" className="content" tabIndex={-1}>
        <Outlet />
      </main>
    </div>
  );
}
