import { lazy, Suspense } from "react";
import { Navigate, Route, Routes, useLocation } from "react-router";
import { useSession } from "./auth";
import Layout from "./components/Layout";
import { Loading } from "./components/ui";
import Login from "./pages/Login";
import NotFound from "./pages/NotFound";

// Each screen is its own chunk: the first page (login) loads only what it needs.
const Campaigns = lazy(() => import("./pages/Campaigns"));
const CampaignDetail = lazy(() => import("./pages/CampaignDetail"));
const CampaignWizard = lazy(() => import("./pages/wizard/CampaignWizard"));
const Accounts = lazy(() => import("./pages/Accounts"));
const AccountDetail = lazy(() => import("./pages/AccountDetail"));
const Dashboard = lazy(() => import("./pages/Dashboard"));

function RequireLogin({ children, staff = false }: { children: React.ReactNode; staff?: boolean }) {
  const { me, loading } = useSession();
  const location = useLocation();
  if (loading) return <Loading />;
  if (!me) return <Navigate to="/login" replace state={{ from: location.pathname + location.search }} />;
  if (staff && !me.is_staff) return <NotFound />;
  return <>{children}</>;
}

export default function App() {
  return (
    <Routes>
      <Route path="/login" element={<Login />} />
      <Route
        element={
          <RequireLogin>
            <Layout />
          </RequireLogin>
        }
      >
        <Route index element={<Navigate to="/campaigns" replace />} />
        <Route path="campaigns" element={<Lazy><Campaigns /></Lazy>} />
        <Route path="campaigns/new" element={<Lazy><CampaignWizard /></Lazy>} />
        <Route path="campaigns/:batchId" element={<Lazy><CampaignDetail /></Lazy>} />
        <Route path="dashboard" element={<Lazy><Dashboard /></Lazy>} />
        <Route
          path="accounts"
          element={<RequireLogin staff><Lazy><Accounts /></Lazy></RequireLogin>}
        />
        <Route path="accounts/:accountId" element={<Lazy><AccountDetail /></Lazy>} />
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
  );
}

function Lazy({ children }: { children: React.ReactNode }) {
  return <Suspense fallback={<Loading />}>{children}</Suspense>;
}
