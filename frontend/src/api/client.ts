/**
 * The typed API client. `paths` is generated from Django's OpenAPI schema (`npm run api`,
 * src/api/openapi.json → schema.d.ts), so a renamed field or path breaks `tsc`, not the user.
 *
 * Session authentication: the CSRF token (cookie `csrftoken`, read from /auth/csrf) goes with
 * every unsafe request as X-CSRFToken. Errors come back as one shape (callcenter/api.py):
 * an object whose keys are dotted field names ("settings.timezone", "contacts[3].rut") each
 * with a list of messages, or `detail` for an error that names no field.
 */
import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];

const UNSAFE = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export function readCookie(name: string): string | null {
  for (const part of document.cookie.split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return decodeURIComponent(rest.join("="));
  }
  return null;
}

const csrf: Middleware = {
  async onRequest({ request }) {
    if (UNSAFE.has(request.method)) {
      const token = readCookie("csrftoken");
      if (token) request.headers.set("X-CSRFToken", token);
    }
    request.headers.set("Accept-Language", "es");
    return request;
  },
};

export const api = createClient<paths>({ baseUrl: "", credentials: "same-origin" });
api.use(csrf);

/** An API error: the HTTP status, the field errors by dotted name and a general message. */
export class ApiError extends Error {
  readonly status: number;
  readonly fields: Record<string, string[]>;
  readonly detail: string | null;

  constructor(status: number, body: unknown) {
    const { fields, detail } = parseErrorBody(status, body);
    super(detail ?? Object.values(fields).flat()[0] ?? `Error ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.fields = fields;
    this.detail = detail;
  }

  /** Messages of one field ("settings.timezone"), or of every field under a prefix. */
  field(name: string): string[] {
    return this.fields[name] ?? [];
  }

  /** The errors under `prefix.`, renamed without it: {"timezone": [...]} for "settings". */
  under(prefix: string): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const [key, messages] of Object.entries(this.fields)) {
      if (key.startsWith(`${prefix}.`)) out[key.slice(prefix.length + 1)] = messages;
    }
    return out;
  }
}

export function statusMessage(status: number): string {
  if (status === 0) return "No hay conexión con el servidor. Revisa tu red e inténtalo de nuevo.";
  if (status === 401) return "Tu sesión expiró. Ingresa de nuevo.";
  if (status === 403) return "No tienes permiso para esta acción.";
  if (status === 404) return "No encontrado.";
  if (status === 413) return "El archivo o los datos enviados son demasiado grandes.";
  if (status === 429) return "Demasiados intentos. Espera un momento e inténtalo de nuevo.";
  if (status >= 500) return "Error del servidor. Inténtalo de nuevo en unos minutos.";
  return `Error ${status}.`;
}

export function parseErrorBody(
  status: number,
  body: unknown,
): { fields: Record<string, string[]>; detail: string | null } {
  const fields: Record<string, string[]> = {};
  let detail: string | null = null;
  if (body && typeof body === "object" && !Array.isArray(body)) {
    for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
      const messages = Array.isArray(value) ? value.map(String) : [String(value)];
      if (key === "detail") detail = messages.join(" ");
      else if (key === "non_field_errors") detail = [detail, ...messages].filter(Boolean).join(" ");
      else fields[key] = messages;
    }
  } else if (typeof body === "string" && body.trim() && !body.trim().startsWith("<")) {
    detail = body.trim();
  }
  if (!detail && Object.keys(fields).length === 0) detail = statusMessage(status);
  return { fields, detail };
}

/** openapi-fetch's result → its data, or an ApiError thrown. */
export async function unwrap<T>(
  promise: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await promise;
  } catch {
    throw new ApiError(0, null);
  }
  if (!result.response.ok) throw new ApiError(result.response.status, result.error);
  return result.data as T;
}

/** The same for a multipart or other request sent with fetch directly (uploads). */
export async function send<T>(url: string, init: RequestInit): Promise<T> {
  const headers = new Headers(init.headers);
  const token = readCookie("csrftoken");
  if (token && UNSAFE.has((init.method ?? "GET").toUpperCase())) headers.set("X-CSRFToken", token);
  headers.set("Accept-Language", "es");
  let response: Response;
  try {
    response = await fetch(url, { ...init, headers, credentials: "same-origin" });
  } catch {
    throw new ApiError(0, null);
  }
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON: keep the text */
  }
  if (!response.ok) throw new ApiError(response.status, body);
  return body as T;
}
