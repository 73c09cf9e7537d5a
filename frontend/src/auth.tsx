/** The signed-in user (GET /auth/me), login and logout through the session endpoints. */
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { createContext, useContext, useMemo, useState, type ReactNode } from "react";
import { api, ApiError, unwrap, type Schemas } from "./api/client";

export type Me = Schemas["Me"];

export async function fetchMe(): Promise<Me | null> {
  try {
    return await unwrap(api.GET("/api/v1/auth/me"));
  } catch (error) {
    if (error instanceof ApiError && (error.status === 401 || error.status === 403)) return null;
    throw error;
  }
}

export async function login(username: string, password: string): Promise<Me> {
  await unwrap(api.GET("/api/v1/auth/csrf"));
  return unwrap(api.POST("/api/v1/auth/login", { body: { username, password } }));
}

export async function logout(): Promise<void> {
  await unwrap(api.POST("/api/v1/auth/logout"));
}

type Session = {
  me: Me | null;
  loading: boolean;
  /** Staff: the account chosen in the header's selector ("" = all); a client: its own. */
  accountId: string;
  setAccountId: (id: string) => void;
};

const SessionContext = createContext<Session | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const me = useQuery({ queryKey: ["me"], queryFn: fetchMe, staleTime: 60_000, retry: false });
  const [chosen, setChosen] = useState(() => sessionStorage.getItem("accountId") ?? "");
  const value = useMemo<Session>(() => {
    const user = me.data ?? null;
    return {
      me: user,
      loading: me.isPending,
      accountId: user && !user.is_staff ? (user.account_id ?? "") : chosen,
      setAccountId: (id: string) => {
        sessionStorage.setItem("accountId", id);
        setChosen(id);
      },
    };
  }, [me.data, me.isPending, chosen]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error("useSession outside SessionProvider");
  return session;
}

/** After login or logout: forget every cached answer, they belonged to another user. */
export function useResetSession() {
  const client = useQueryClient();
  return async (me: Me | null) => {
    // Keep the "me" query itself (its observer lives in SessionProvider), drop the rest.
    client.removeQueries({ predicate: (query) => query.queryKey[0] !== "me" });
    client.setQueryData(["me"], me);
  };
}
