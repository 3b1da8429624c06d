/**
 * Pages and who may see them. Every page but the login needs a session; pages are loaded on
 * first visit (code-split), so the charts library loads only with the pages that chart.
 */
import { lazy, Suspense, useEffect } from 'react';
import { Redirect, Route, Switch, useLocation } from 'wouter';
import { Layout } from './components/Layout.tsx';
import { ErrorState, Loading } from './components/States.tsx';
import { LiveProvider } from './live.tsx';
import { ChangePasswordPage, LoginPage } from './pages/Login.tsx';
import { SessionProvider, useSession } from './session.tsx';

const OverviewPage = lazy(() => import('./pages/Overview.tsx'));
const FilesPage = lazy(() => import('./pages/Files.tsx'));
const FileDetailPage = lazy(() => import('./pages/FileDetail.tsx'));
const MetricsPage = lazy(() => import('./pages/Metrics.tsx'));
const AdminPage = lazy(() => import('./pages/Admin.tsx'));
const StreamsPage = lazy(() => import('./pages/Streams.tsx'));
const ItemsPage = lazy(() => import('./pages/Items.tsx'));
const HealthPage = lazy(() => import('./pages/Health.tsx'));
const RetrievalsPage = lazy(() => import('./pages/Retrievals.tsx'));
const ProjectsPage = lazy(() => import('./pages/catalog/Projects.tsx'));
const SamplePage = lazy(() => import('./pages/catalog/Sample.tsx'));
const DatasetsPage = lazy(() => import('./pages/catalog/Datasets.tsx'));
const SearchPage = lazy(() => import('./pages/catalog/Search.tsx'));

const TITLES: [RegExp, string][] = [
  [/^\/$/, 'Overview'],
  [/^\/files\/./, 'File'],
  [/^\/files/, 'Files'],
  [/^\/qc/, 'Metrics'],
  [/^\/items/, 'Items'],
  [/^\/retrievals/, 'Retrievals'],
  [/^\/(projects|samples|datasets|search)/, 'Catalog'],
  [/^\/admin/, 'Admin'],
  [/^\/streams/, 'Streams'],
  [/^\/health/, 'Health'],
  [/^\/login/, 'Log in'],
];

function useTitle() {
  const [location] = useLocation();
  useEffect(() => {
    const t = TITLES.find(([re]) => re.test(location))?.[1];
    document.title = t ? `${t} · Sluice` : 'Sluice';
  }, [location]);
}

/** Where to go after logging in: the page that asked for it, never another site. */
function nextPath(): string {
  const next = new URLSearchParams(window.location.search).get('next');
  return next?.startsWith('/') && !next.startsWith('//') && !next.startsWith('/login') ? next : '/';
}

export function App() {
  useTitle();
  const session = useSession();
  const [location] = useLocation();

  if (session.isPending) return <Loading what="Starting Sluice" />;
  if (session.isError)
    return (
      <main className="narrow">
        <ErrorState error={session.error} retry={() => void session.refetch()} />
      </main>
    );
  const me = session.data;
  if (!me) {
    if (location !== '/login') {
      const here = `${window.location.pathname}${window.location.search}`;
      return <Redirect to={here === '/' ? '/login' : `/login?next=${encodeURIComponent(here)}`} replace />;
    }
    return <LoginPage next={nextPath()} />;
  }
  if (me.mustChangePassword) return <ChangePasswordPage me={me} />;
  if (location === '/login') return <Redirect to={nextPath()} replace />;

  return (
    <SessionProvider me={me}>
      <LiveProvider>
        <Layout>
          <Suspense fallback={<Loading />}>
            <Switch>
              <Route path="/" component={OverviewPage} />
              <Route path="/files" component={FilesPage} />
              <Route path="/files/:id" component={FileDetailPage} />
              {/* not /metrics: that is the Prometheus endpoint */}
              <Route path="/qc" component={MetricsPage} />
              <Route path="/items" component={ItemsPage} />
              <Route path="/retrievals" component={RetrievalsPage} />
              <Route path="/items/:id" component={ItemsPage} />
              <Route path="/projects" component={ProjectsPage} />
              <Route path="/projects/:id" component={ProjectsPage} />
              <Route path="/samples/:refcode" component={SamplePage} />
              <Route path="/datasets" component={DatasetsPage} />
              <Route path="/datasets/:name" component={DatasetsPage} />
              <Route path="/search" component={SearchPage} />
              <Route path="/admin" component={AdminPage} />
              <Route path="/streams" component={StreamsPage} />
              <Route path="/health" component={HealthPage} />
              <Route>
                <h1>Page not found</h1>
                <p>
                  There is no page at <code>{location}</code>. Go to the <a href="/">overview</a>.
                </p>
              </Route>
            </Switch>
          </Suspense>
        </Layout>
      </LiveProvider>
    </SessionProvider>
  );
}
