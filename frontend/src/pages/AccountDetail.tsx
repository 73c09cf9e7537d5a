/** One account (the seed's AccountDetailModal as a page): Información (its data and campaign
 * figures) and Balance (balance, this month's usage, depletion estimate, the ledger's last
 * entries, and for staff a top-up). Staff may suspend and reactivate it. A client reaches only
 * its own: another account answers 404 and the page says "No encontrado". */
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useState, type FormEvent } from "react";
import { Link, useParams, useSearchParams } from "react-router";
import { api, ApiError, unwrap, type Schemas } from "../api/client";
import { useSession } from "../auth";
import {
  ConfirmDialog,
  ErrorMessage,
  Loading,
  Pager,
  StatusBadge,
  Tabs,
  TextInput,
} from "../components/ui";
import { amountSchema, parseAmount } from "../lib/accountForm";
import { formatUnit, LEDGER_KINDS, PLAN_NAMES, planBalance } from "../lib/accounts";
import {
  formatDate,
  formatDateTime,
  formatMinutes,
  formatMoney,
  formatNumber,
  formatPercent,
  zoneLabel,
} from "../lib/format";
import NotFound from "./NotFound";

type Account = Schemas["Account"];
type TabId = "info" | "balance";

const TABS: { id: TabId; label: string }[] = [
  { id: "info", label: "Información" },
  { id: "balance", label: "Balance" },
];

const PROFILE_NAMES: Record<string, string> = {
  CL: "Chile (Ley 19.496 / 21.320)",
  US: "Estados Unidos (Regulation F)",
  none: "Ninguno",
};

export default function AccountDetail() {
  const { accountId = "" } = useParams();
  const { me } = useSession();
  const [params, setParams] = useSearchParams();
  const tab: TabId = params.get("tab") === "balance" ? "balance" : "info";
  const [confirm, setConfirm] = useState<"suspend" | "reactivate" | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const client = useQueryClient();

  const account = useQuery({
    queryKey: ["accounts", "detail", accountId],
    queryFn: () =>
      unwrap(api.GET("/api/v1/accounts/{account_id}", { params: { path: { account_id: accountId } } })),
    retry: (count, error) => !(error instanceof ApiError && error.status < 500) && count < 2,
  });

  const status = useMutation({
    mutationFn: (action: "suspend" | "reactivate") =>
      unwrap(
        action === "suspend"
          ? api.POST("/api/v1/accounts/{account_id}/suspend", { params: { path: { account_id: accountId } } })
          : api.POST("/api/v1/accounts/{account_id}/reactivate", { params: { path: { account_id: accountId } } }),
      ),
    onSuccess: (updated, action) => {
      client.setQueryData(["accounts", "detail", accountId], updated);
      void client.invalidateQueries({ queryKey: ["accounts", "list"] });
      setConfirm(null);
      setNotice(action === "suspend" ? "Cuenta suspendida: no se harán llamadas nuevas." : "Cuenta reactivada.");
    },
  });
  const closeConfirm = useCallback(() => {
    setConfirm(null);
    status.reset();
  }, [status]);

  if (account.isPending) return <Loading />;
  if (account.error instanceof ApiError && account.error.status === 404) return <NotFound />;
  if (account.error) return <ErrorMessage error={account.error} />;
  const data = account.data;
  const tz = data.settings.timezone ?? "America/Santiago";
  const staff = !!me?.is_staff;

  return (
    <section className="account-detail">
      {staff && (
        <p className="breadcrumb">
          <Link to="/accounts">‹ Cuentas</Link>
        </p>
      )}
      <div className="page-header">
        <div>
          <h1>{data.account_name}</h1>
          <p className="muted subtitle">
            <code>{data.account_id}</code> · Plan {PLAN_NAMES[data.plan_type] ?? data.plan_type} ·{" "}
            <StatusBadge status={data.status} />
          </p>
        </div>
        {staff && (
          <div className="actions">
            {data.status === "active" ? (
              <button type="button" className="btn btn-danger" onClick={() => setConfirm("suspend")}>
                Suspender cuenta
              </button>
            ) : (
              <button type="button" className="btn btn-primary" onClick={() => setConfirm("reactivate")}>
                Reactivar cuenta
              </button>
            )}
          </div>
        )}
      </div>

      <div role="status" aria-live="polite">
        {notice && <div className="alert alert-ok">{notice}</div>}
      </div>
      {data.status === "suspended" && (
        <div className="alert alert-warn">Esta cuenta está suspendida: no se inician llamadas nuevas.</div>
      )}

      <Tabs
        tabs={TABS}
        active={tab}
        label="Secciones de la cuenta"
        onChange={(id) =>
          setParams(
            (current) => {
              const next = new URLSearchParams(current);
              if (id === "info") next.delete("tab");
              else next.set("tab", id);
              return next;
            },
            { replace: true },
          )
        }
      />
      <div role="tabpanel" id={`panel-${tab}`} aria-labelledby={`tab-${tab}`} tabIndex={0} className="tabpanel">
        {tab === "info" ? <InfoTab account={data} tz={tz} /> : <BalanceTab account={data} tz={tz} staff={staff} />}
      </div>

      {confirm && (
        <ConfirmDialog
          title={confirm === "suspend" ? "Suspender cuenta" : "Reactivar cuenta"}
          message={
            <>
              {confirm === "suspend"
                ? `¿Suspender «${data.account_name}»? No se harán llamadas nuevas; las que están en curso terminan.`
                : `¿Reactivar «${data.account_name}»? Sus campañas podrán volver a llamar.`}
              {status.error && (
                <span className="error-text confirm-error" role="alert">
                  {" "}
                  {status.error.message}
                </span>
              )}
            </>
          }
          confirmLabel={confirm === "suspend" ? "Suspender" : "Reactivar"}
          danger={confirm === "suspend"}
          busy={status.isPending}
          onConfirm={() => status.mutate(confirm)}
          onCancel={closeConfirm}
        />
      )}
    </section>
  );
}

function Stat({ label, value, text = false }: { label: string; value: React.ReactNode; text?: boolean }) {
  return (
    <div className="stat">
      <div className="stat-label">{label}</div>
      <div className={text ? "stat-value stat-value-text" : "stat-value"}>{value}</div>
    </div>
  );
}

function InfoTab({ account, tz }: { account: Account; tz: string }) {
  const stats = useQuery({
    queryKey: ["accounts", "stats", account.account_id],
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/accounts/{account_id}/stats", { params: { path: { account_id: account.account_id } } }),
      ),
  });
  return (
    <>
      <h2>Campañas</h2>
      {stats.isPending ? (
        <Loading />
      ) : stats.error ? (
        <ErrorMessage error={stats.error} />
      ) : (
        <div className="grid stats-grid">
          <Stat label="Campañas" value={formatNumber(stats.data.total_batches)} />
          <Stat label="Campañas activas" value={formatNumber(stats.data.active_batches)} />
          <Stat label="Deudores en campañas" value={formatNumber(stats.data.total_jobs)} />
          <Stat label="Deudores terminados" value={formatNumber(stats.data.completed_jobs)} />
          <Stat
            label="Tasa de contacto"
            value={stats.data.completed_jobs ? formatPercent(Number(stats.data.success_rate) / 100) : "—"}
          />
          <Stat label="Costo este mes" value={formatMoney(stats.data.total_cost_this_month)} />
        </div>
      )}

      <h2>Datos de la cuenta</h2>
      <div className="card">
        <dl className="details">
          <dt>Contacto</dt>
          <dd>{account.contact_name}</dd>
          <dt>Email</dt>
          <dd>
            <a href={`mailto:${account.contact_email}`}>{account.contact_email}</a>
          </dd>
          <dt>Teléfono</dt>
          <dd>{account.contact_phone || "—"}</dd>
          <dt>Plan</dt>
          <dd>{PLAN_NAMES[account.plan_type] ?? account.plan_type}</dd>
          <dt>Saldo</dt>
          <dd>{planBalance(account)}</dd>
          <dt>Llamadas simultáneas máximas</dt>
          <dd>{formatNumber(account.features.max_concurrent_calls)}</dd>
          <dt>Costo por llamada</dt>
          <dd>{formatMoney(account.cost_per_call_setup)}</dd>
          <dt>Costo por minuto</dt>
          <dd>{formatMoney(account.cost_per_minute)}</dd>
          <dt>Zona horaria</dt>
          <dd>
            {tz} ({zoneLabel(tz)})
          </dd>
          <dt>Perfil de cumplimiento</dt>
          <dd>{PROFILE_NAMES[account.settings.compliance_profile ?? ""] ?? account.settings.compliance_profile}</dd>
          <dt>Creada</dt>
          <dd>{formatDateTime(account.created_at, tz, true)}</dd>
        </dl>
      </div>
    </>
  );
}

const LEDGER_PAGE = 10;

function BalanceTab({ account, tz, staff }: { account: Account; tz: string; staff: boolean }) {
  const [page, setPage] = useState(1);
  const path = { account_id: account.account_id };
  const balance = useQuery({
    queryKey: ["accounts", "balance", account.account_id],
    queryFn: () => unwrap(api.GET("/api/v1/accounts/{account_id}/balance", { params: { path } })),
  });
  const ledger = useQuery({
    queryKey: ["accounts", "ledger", account.account_id, page],
    queryFn: () =>
      unwrap(
        api.GET("/api/v1/accounts/{account_id}/ledger", {
          params: { path, query: { page, page_size: LEDGER_PAGE } },
        }),
      ),
    placeholderData: keepPreviousData,
  });
  const unlimited = account.plan_type === "unlimited";

  return (
    <>
      <h2>Saldo</h2>
      {balance.isPending ? (
        <Loading />
      ) : balance.error ? (
        <ErrorMessage error={balance.error} />
      ) : (
        <>
          <div className="grid stats-grid">
            <Stat label="Créditos disponibles" value={formatMoney(balance.data.current_balance.credits)} />
            <Stat label="Minutos disponibles" value={formatMinutes(balance.data.current_balance.minutes)} />
            <Stat label="Gasto total" value={formatMoney(balance.data.current_balance.total_spent)} />
            <Stat
              label="Agotamiento estimado"
              text={unlimited || !balance.data.estimated_depletion_date}
              value={
                unlimited
                  ? "Plan ilimitado"
                  : balance.data.estimated_depletion_date
                    ? formatDate(balance.data.estimated_depletion_date, tz)
                    : "Sin consumo reciente"
              }
            />
          </div>
          <h3 className="subheading">Uso este mes</h3>
          <div className="grid stats-grid">
            <Stat label="Créditos usados" value={formatMoney(balance.data.usage_this_month.credits_used)} />
            <Stat label="Minutos usados" value={formatMinutes(balance.data.usage_this_month.minutes_used)} />
            <Stat label="Costo de las llamadas" value={formatMoney(balance.data.usage_this_month.total_cost)} />
          </div>
          <p className="muted small">
            El agotamiento se estima con el consumo promedio de los últimos 30 días. Fechas en{" "}
            {zoneLabel(tz)}.
          </p>
        </>
      )}

      {staff && <TopupForm account={account} />}

      <h2>Últimos movimientos</h2>
      {ledger.isPending ? (
        <Loading />
      ) : ledger.error ? (
        <ErrorMessage error={ledger.error} />
      ) : ledger.data.results.length === 0 ? (
        <p className="muted">Sin movimientos todavía.</p>
      ) : (
        <>
          <div className="table-wrap">
            <table className="ledger-table">
              <caption className="sr-only">Movimientos del saldo, del más reciente al más antiguo</caption>
              <thead>
                <tr>
                  <th scope="col">Fecha</th>
                  <th scope="col">Movimiento</th>
                  <th scope="col" className="num">
                    Monto
                  </th>
                  <th scope="col" className="num">
                    Saldo después
                  </th>
                  <th scope="col">Referencia</th>
                </tr>
              </thead>
              <tbody>
                {ledger.data.results.map((entry) => (
                  <tr key={entry.id}>
                    <td data-label="Fecha">{formatDateTime(entry.created_at, tz)}</td>
                    <td data-label="Movimiento">
                      {LEDGER_KINDS[entry.kind] ?? entry.kind}
                      <span className="muted small"> · {entry.unit === "minutes" ? "minutos" : "créditos"}</span>
                    </td>
                    <td data-label="Monto" className={`num ${entry.amount < 0 ? "amount-out" : "amount-in"}`}>
                      {entry.amount > 0 ? "+" : ""}
                      {formatUnit(entry.amount, entry.unit)}
                    </td>
                    <td data-label="Saldo después" className="num">
                      {formatUnit(entry.balance_after, entry.unit)}
                    </td>
                    <td data-label="Referencia">{entry.reference || "—"}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {ledger.data.count > LEDGER_PAGE && (
            <Pager page={page} pageSize={LEDGER_PAGE} count={ledger.data.count} onPage={setPage} />
          )}
        </>
      )}
    </>
  );
}

type TopupErrors = Record<string, string[]>;

function TopupForm({ account }: { account: Account }) {
  const client = useQueryClient();
  const [credits, setCredits] = useState("");
  const [minutes, setMinutes] = useState("");
  const [reference, setReference] = useState("");
  const [errors, setErrors] = useState<TopupErrors>({});
  const [pending, setPending] = useState<Schemas["TopupRequest"] | null>(null);
  const [done, setDone] = useState<string | null>(null);

  const topup = useMutation({
    mutationFn: (body: Schemas["TopupRequest"]) =>
      unwrap(
        api.POST("/api/v1/accounts/{account_id}/topup", {
          params: { path: { account_id: account.account_id } },
          body,
        }),
      ),
    onSuccess: (_result, body) => {
      setPending(null);
      setCredits("");
      setMinutes("");
      setReference("");
      setDone(`Recarga registrada: ${describe(body)}.`);
      void client.invalidateQueries({ queryKey: ["accounts"] });
    },
    onError: (error) => {
      setPending(null);
      if (error instanceof ApiError) {
        setErrors({ ...error.fields, ...(error.detail ? { general: [error.detail] } : {}) });
      } else setErrors({ general: [String(error)] });
    },
  });
  const cancel = useCallback(() => setPending(null), []);

  function onSubmit(event: FormEvent) {
    event.preventDefault();
    setDone(null);
    const found: TopupErrors = {};
    const positive = amountSchema({ positive: true });
    for (const [name, text] of [
      ["credits", credits],
      ["minutes", minutes],
    ] as const) {
      const result = positive.safeParse(text);
      if (!result.success) found[name] = result.error.issues.map((i) => i.message);
    }
    if (!credits.trim() && !minutes.trim()) {
      found.credits = ["Ingresa créditos, minutos o ambos."];
    }
    if (reference.length > 120) found.reference = ["Como máximo 120 caracteres."];
    setErrors(found);
    if (Object.keys(found).length) return;
    const body: Schemas["TopupRequest"] = { reference: reference.trim() };
    const c = parseAmount(credits);
    const m = parseAmount(minutes);
    if (c) body.credits = c;
    if (m) body.minutes = m;
    setPending(body);
  }

  return (
    <div className="card topup">
      <h2>Recargar saldo</h2>
      <form onSubmit={onSubmit} noValidate>
        {errors.general && <ErrorMessage error={errors.general.join(" ")} />}
        <div className="form-grid">
          <TextInput
            label="Créditos (CLP)"
            inputMode="decimal"
            value={credits}
            onChange={(e) => setCredits(e.target.value)}
            errors={errors.credits}
            hint="Por ejemplo 50.000."
          />
          <TextInput
            label="Minutos"
            inputMode="decimal"
            value={minutes}
            onChange={(e) => setMinutes(e.target.value)}
            errors={errors.minutes}
          />
          <TextInput
            label="Referencia (opcional)"
            value={reference}
            onChange={(e) => setReference(e.target.value)}
            errors={errors.reference}
            hint="Factura o transferencia."
            maxLength={120}
          />
        </div>
        <button type="submit" className="btn btn-primary" disabled={topup.isPending}>
          Recargar
        </button>
      </form>
      <div role="status" aria-live="polite">
        {done && <div className="alert alert-ok topup-done">{done}</div>}
      </div>
      {pending && (
        <ConfirmDialog
          title="Confirmar recarga"
          message={`¿Agregar ${describe(pending)} a «${account.account_name}»? Queda registrado en los movimientos.`}
          confirmLabel="Confirmar recarga"
          busy={topup.isPending}
          onConfirm={() => topup.mutate(pending)}
          onCancel={cancel}
        />
      )}
    </div>
  );
}

function describe(body: Schemas["TopupRequest"]): string {
  const parts: string[] = [];
  if (body.credits) parts.push(`${formatMoney(body.credits)} en créditos`);
  if (body.minutes) parts.push(formatMinutes(body.minutes));
  return parts.join(" y ");
}
