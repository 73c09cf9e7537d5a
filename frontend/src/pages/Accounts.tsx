/** Cuentas (staff): every client account, searchable and paginated, and "+ Nueva Cuenta". */
import { keepPreviousData, useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useState } from "react";
import { Link, useSearchParams } from "react-router";
import { api, unwrap, type Schemas } from "../api/client";
import CreateAccountModal, { useOptions } from "../components/CreateAccountModal";
import { ErrorMessage, Loading, Pager, StatusBadge } from "../components/ui";
import { PLAN_NAMES, planBalance } from "../lib/accounts";
import { formatNumber } from "../lib/format";

const PAGE_SIZE = 25;

export default function Accounts() {
  const [params, setParams] = useSearchParams();
  const page = Math.max(1, Number(params.get("page")) || 1);
  const search = params.get("q") ?? "";
  const [text, setText] = useState(search);
  const [creating, setCreating] = useState(false);
  const [created, setCreated] = useState<Schemas["Account"] | null>(null);
  const client = useQueryClient();
  useOptions(); // the modal's options, fetched ahead so it opens ready

  const accounts = useQuery({
    queryKey: ["accounts", "list", { page, search }],
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/accounts", {
          params: { query: { page, page_size: PAGE_SIZE, ...(search ? { search } : {}) } },
        }),
      ),
    placeholderData: keepPreviousData,
  });

  // Searching as one types, a moment after the last key.
  useEffect(() => {
    if (text.trim() === search) return;
    const timer = setTimeout(() => {
      setParams((current) => {
        const next = new URLSearchParams(current);
        if (text.trim()) next.set("q", text.trim());
        else next.delete("q");
        next.delete("page");
        return next;
      });
    }, 300);
    return () => clearTimeout(timer);
  }, [text, search, setParams]);

  const onPage = (n: number) =>
    setParams((current) => {
      const next = new URLSearchParams(current);
      next.set("page", String(n));
      return next;
    });

  const close = useCallback(() => setCreating(false), []);
  const onCreated = useCallback(
    (account: Schemas["Account"]) => {
      setCreating(false);
      setCreated(account);
      void client.invalidateQueries({ queryKey: ["accounts"] });
    },
    [client],
  );

  const data = accounts.data;
  return (
    <section>
      <div className="page-header">
        <h1>Cuentas</h1>
        <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
          + Nueva Cuenta
        </button>
      </div>

      <div role="status" aria-live="polite">
        {created && (
          <div className="alert alert-ok alert-dismissible">
            <span>
              Cuenta <Link to={`/accounts/${created.account_id}`}>{created.account_name}</Link> creada
              (identificador <code>{created.account_id}</code>).
            </span>
            <button type="button" className="btn-icon" aria-label="Cerrar aviso" onClick={() => setCreated(null)}>
              ×
            </button>
          </div>
        )}
      </div>

      <form className="toolbar" role="search" onSubmit={(e) => e.preventDefault()}>
        <div className="field search-field">
          <label htmlFor="accounts-search">Buscar cuenta</label>
          <input
            id="accounts-search"
            type="search"
            placeholder="Nombre o identificador"
            value={text}
            onChange={(e) => setText(e.target.value)}
          />
        </div>
      </form>

      {accounts.isPending ? (
        <Loading />
      ) : accounts.error ? (
        <ErrorMessage error={accounts.error} />
      ) : data && data.results.length === 0 ? (
        <p className="card muted">{search ? `Ninguna cuenta coincide con «${search}».` : "Aún no hay cuentas."}</p>
      ) : (
        data && (
          <>
            <p className="muted list-count">
              {formatNumber(data.count)} {data.count === 1 ? "cuenta" : "cuentas"}
            </p>
            <div className="table-wrap">
              <table className="accounts-table">
                <caption className="sr-only">Cuentas de clientes</caption>
                <thead>
                  <tr>
                    <th scope="col">Cuenta</th>
                    <th scope="col">Plan</th>
                    <th scope="col">Estado</th>
                    <th scope="col" className="num">
                      Saldo
                    </th>
                    <th scope="col" className="num">
                      Llamadas simultáneas
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {data.results.map((account) => (
                    <tr key={account.account_id}>
                      <td data-label="Cuenta">
                        <Link to={`/accounts/${account.account_id}`} className="account-link">
                          {account.account_name}
                        </Link>
                        <div className="muted small">{account.account_id}</div>
                      </td>
                      <td data-label="Plan">{PLAN_NAMES[account.plan_type] ?? account.plan_type}</td>
                      <td data-label="Estado">
                        <StatusBadge status={account.status} />
                      </td>
                      <td data-label="Saldo" className="num">
                        {planBalance(account)}
                      </td>
                      <td data-label="Llamadas simultáneas" className="num">
                        {formatNumber(account.features.max_concurrent_calls)}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <Pager page={page} pageSize={PAGE_SIZE} count={data.count} onPage={onPage} />
          </>
        )
      )}

      {creating && <CreateAccountModal onClose={close} onCreated={onCreated} />}
    </section>
  );
}
