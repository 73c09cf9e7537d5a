/** The "+ Nueva Cuenta" modal in jsdom: the form's own errors stop the POST; the server's
 * dotted field errors land on their fields and sections; a created account is handed back. */
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { beforeEach, describe, expect, it, vi } from "vitest";

// openapi-fetch keeps the fetch and Request it finds when the client is made: set ours first.
const calls = vi.hoisted(() => {
  const NodeRequest = globalThis.Request;
  class RelativeRequest extends NodeRequest {
    constructor(input: RequestInfo | URL, init?: RequestInit) {
      super(typeof input === "string" ? new URL(input, "http://localhost").href : input, init);
    }
  }
  globalThis.Request = RelativeRequest as typeof Request;
  const state = {
    posts: [] as unknown[],
    answer: { status: 201, body: {} as unknown },
  };
  globalThis.fetch = (async (input: RequestInfo | URL) => {
    const request = input as Request;
    const url = new URL(request.url);
    if (url.pathname === "/api/v1/options") return json(200, OPTIONS);
    if (url.pathname === "/api/v1/accounts" && request.method === "POST") {
      state.posts.push(await request.json());
      return json(state.answer.status, state.answer.body);
    }
    return json(404, { detail: "No encontrado." });
  }) as typeof fetch;
  function json(status: number, body: unknown) {
    return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
  }
  const OPTIONS = {
    compliance_profiles: [
      { code: "CL", label: "Chile (Ley 19.496 / 21.320)", country: "CL", time_zones: ["America/Santiago", "Pacific/Easter"], hours: { start: "08:00", end: "20:00" }, days_of_week: null, holidays_country: "CL", max_answered_contacts_per_7d: null, max_attempts_per_7d: null },
      { code: "US", label: "Estados Unidos", country: "US", time_zones: ["America/Chicago"], hours: null, days_of_week: null, holidays_country: null, max_answered_contacts_per_7d: null, max_attempts_per_7d: null },
    ],
    default_compliance_profile: "CL",
    script_variables: [],
    script_custom_variables: "",
    limits: { max_concurrent_calls: { minimum: 1, maximum: 50, default: 5 }, call_settings: {} },
    plan_types: [
      { value: "credit_based", label: "Créditos" },
      { value: "minutes_based", label: "Minutos" },
      { value: "unlimited", label: "Ilimitado" },
    ],
    priorities: [],
  };
  return state;
});

import CreateAccountModal from "../src/components/CreateAccountModal";

function renderModal() {
  const onCreated = vi.fn();
  const onClose = vi.fn();
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <QueryClientProvider client={client}>
      <CreateAccountModal onClose={onClose} onCreated={onCreated} />
    </QueryClientProvider>,
  );
  return { onCreated, onClose };
}

async function fillValid(user: ReturnType<typeof userEvent.setup>) {
  await user.type(await screen.findByLabelText("Nombre de la empresa"), "Empresa XYZ");
  await user.type(screen.getByLabelText("Nombre de contacto"), "María González");
  await user.type(screen.getByLabelText("Email de contacto"), "maria@empresaxyz.cl");
  await user.type(screen.getByLabelText("Créditos iniciales (CLP)"), "10.000");
}

function errorOf(label: string): string {
  const input = screen.getByLabelText(label);
  expect(input.getAttribute("aria-invalid")).toBe("true");
  const ids = (input.getAttribute("aria-describedby") ?? "").split(" ");
  return ids.map((id) => document.getElementById(id)?.textContent ?? "").join(" ");
}

describe("CreateAccountModal", () => {
  beforeEach(() => {
    calls.posts.length = 0;
  });

  it("says the form's own errors on their fields and sends nothing", async () => {
    const user = userEvent.setup();
    renderModal();
    await user.type(await screen.findByLabelText("Email de contacto"), "maria@");
    await user.click(screen.getByRole("button", { name: "Crear cuenta" }));
    expect(errorOf("Email de contacto")).toMatch(/email válido/);
    expect(errorOf("Nombre de la empresa")).toMatch(/nombre de la empresa/);
    const summary = screen.getByRole("alert");
    expect(within(summary).getByText("Empresa y contacto")).toBeTruthy();
    expect(calls.posts).toEqual([]);
  });

  it("puts the server's dotted errors on their fields, in their sections", async () => {
    calls.answer = {
      status: 400,
      body: {
        "settings.timezone": ["Zona horaria desconocida."],
        "features.max_concurrent_calls": ["Asegúrese de que este valor es menor o igual a 50."],
      },
    };
    const user = userEvent.setup();
    renderModal();
    await fillValid(user);
    await user.click(screen.getByRole("button", { name: "Crear cuenta" }));
    await waitFor(() => expect(errorOf("Zona horaria")).toMatch(/Zona horaria desconocida/));
    expect(errorOf("Llamadas simultáneas máximas")).toMatch(/menor o igual a 50/);
    const summary = screen.getByRole("alert");
    expect(within(summary).getByText("Límites técnicos")).toBeTruthy();
    expect(within(summary).getByText("Configuración regional")).toBeTruthy();
    expect(within(summary).queryByText("Empresa y contacto")).toBeNull();
    expect(calls.posts).toEqual([
      {
        account_name: "Empresa XYZ",
        contact_name: "María González",
        contact_email: "maria@empresaxyz.cl",
        plan_type: "credit_based",
        initial_credits: 10000,
        features: { max_concurrent_calls: 5 },
        settings: { timezone: "America/Santiago", compliance_profile: "CL" },
      },
    ]);
  });

  it("offers the zones of the chosen profile and hands back the created account", async () => {
    const created = { account_id: "empresa-xyz", account_name: "Empresa XYZ" };
    calls.answer = { status: 201, body: created };
    const user = userEvent.setup();
    const { onCreated } = renderModal();
    await fillValid(user);
    await user.selectOptions(screen.getByLabelText("Perfil de cumplimiento"), "US");
    const zones = within(screen.getByLabelText("Zona horaria")).getAllByRole("option");
    expect(zones.map((o) => o.getAttribute("value"))).toEqual(["America/Chicago"]);
    await user.click(screen.getByRole("button", { name: "Crear cuenta" }));
    await waitFor(() => expect(onCreated).toHaveBeenCalled());
    expect(onCreated.mock.calls[0][0]).toEqual(created);
    expect(calls.posts[0]).toMatchObject({ settings: { timezone: "America/Chicago", compliance_profile: "US" } });
  });
});
