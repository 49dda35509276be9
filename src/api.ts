/**
 * A small typed client of bookstore's REST API.
 *
 * Every request and reply type comes from `src/generated/openapi.ts`, which the build
 * generates from the server's OpenAPI document (`bookstore/openapi.yaml`) with
 * openapi-typescript: a route whose shape changes on the server no longer compiles here.
 * Requests go through JupyterLab's `ServerConnection`, which adds the base URL, the
 * token or the XSRF header; errors become {@link BookstoreError} with the server's message.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import type { components, operations } from './generated/openapi';

type Schemas = components['schemas'];

export type BookstoreInfo = Schemas['BookstoreInfo'];
export type ArchiveStatus = Schemas['ArchiveStatus'];
export type PublishResult = Schemas['PublishResult'];
export type PublishedInfo = Schemas['PublishedInfo'];
export type CloneRequest = Schemas['CloneRequest'];
export type VersionItem = Schemas['VersionItem'];
export type VersionModel = Schemas['VersionModel'];
export type Diff = Schemas['Diff'];
export type CatalogItem = Schemas['CatalogItem'];
export type Run = Schemas['Run'];
export type RunState = Run['state'];
export type RunRequest = Schemas['RunRequest'];
export type RunParameters = Schemas['RunParameters'];
export type DeclaredParameter = Schemas['DeclaredParameter'];
export type RunLog = Schemas['RunLog'];
export type Schedule = Schemas['Schedule'];
export type ScheduleWithLastRun = Schemas['ScheduleWithLastRun'];
export type ScheduleRequest = Schemas['ScheduleRequest'];
export type SchedulePatch = Schemas['SchedulePatch'];
export type FireTime = Schemas['FireTime'];
export type NotifyTargetRequest = Schemas['NotifyTargetRequest'];

/** What a diff leaves out (`hide`) or keeps only (`only`); see `GET …/diff`. */
export type DiffOptions = {
  hide?: ('outputs' | 'metadata' | 'execution_count' | 'papermill')[];
  only?: 'outputs';
};

/** Where a path lives: files of the workspace (archived saves) or published notebooks. */
export type Area = 'workspace' | 'published';

/** The body of `PATCH …/versions/{id}`. */
export interface VersionAnnotation {
  name?: string | null;
  description?: string | null;
  pinned?: boolean;
}

/** The query parameters of an operation, as the spec declares them. */
type QueryOf<Op extends keyof operations> = operations[Op]['parameters'] extends {
  query?: infer Q;
}
  ? NonNullable<Q>
  : never;

/** The JSON body of an operation's success reply (200, 201 or 202). */
type ReplyOf<Op extends keyof operations> = operations[Op]['responses'] extends {
  200: { content: { 'application/json': infer T } };
}
  ? T
  : operations[Op]['responses'] extends {
        201: { content: { 'application/json': infer T } };
      }
    ? T
    : operations[Op]['responses'] extends {
          202: { content: { 'application/json': infer T } };
        }
      ? T
      : never;

/** The JSON body an operation takes. */
type BodyOf<Op extends keyof operations> = operations[Op] extends {
  requestBody?: { content: { 'application/json': infer B } };
}
  ? B
  : never;

/** An error answered by the server (or the network), with the message to show. */
export class BookstoreError extends Error {
  constructor(
    message: string,
    /** The HTTP status; 0 when the server could not be reached. */
    readonly status: number
  ) {
    super(message);
    this.name = 'BookstoreError';
  }
}

/** `a/b c.ipynb` -> `a/b%20c.ipynb`: each segment encoded on its own.
 *
 * A path with `.`, `..` or empty segments, or a leading `/`, is refused here: the browser
 * would resolve the dot segments in the URL and send the request to another route. */
export function encodePath(path: string): string {
  const segments = path.split('/');
  if (!path || path.startsWith('/') || segments.some(s => s === '' || s === '.' || s === '..')) {
    throw new BookstoreError(
      `The path '${path}' must be relative, without '.', '..' or empty segments ` +
        "(like 'reports/summary.ipynb').",
      400
    );
  }
  return URLExt.encodeParts(path);
}

/** The client. One instance per application, sharing JupyterLab's server settings. */
export class BookstoreAPI {
  constructor(
    readonly serverSettings: ServerConnection.ISettings = ServerConnection.makeSettings()
  ) {}

  /** `GET /api/bookstore`: release, feature flags, store and archive state. */
  async info(): Promise<ReplyOf<'getBookstore'>> {
    return this.request('GET', 'api/bookstore');
  }

  /** `GET /api/bookstore/archive`: the archiver's state. */
  async archiveStatus(): Promise<ReplyOf<'getArchiveStatus'>> {
    return this.request('GET', 'api/bookstore/archive');
  }

  /** `PUT /api/bookstore/publish/{path}`: publish a notebook (a new published version). */
  async publish(path: string, body: BodyOf<'publishNotebook'>): Promise<ReplyOf<'publishNotebook'>> {
    return this.request('PUT', `api/bookstore/publish/${encodePath(path)}`, { body });
  }

  /** `GET /api/bookstore/publish/{path}?optional=true`: the latest published version; null
   * if unpublished (asked with `optional`, so "not published" is a 200, not a 404 the
   * browser and the server would log as an error). */
  async published(path: string): Promise<PublishedInfo | null> {
    const reply = await this.request<PublishedInfo | { published: false; path: string }>(
      'GET',
      `api/bookstore/publish/${encodePath(path)}`,
      { query: { optional: true } }
    );
    return 'published' in reply && reply.published === false ? null : (reply as PublishedInfo);
  }

  /** `DELETE /api/bookstore/publish/{path}`: unpublish (the published history stays). */
  async unpublish(path: string): Promise<void> {
    await this.request('DELETE', `api/bookstore/publish/${encodePath(path)}`);
  }

  /** `POST /api/bookstore/clone`: copy a stored notebook into the workspace. */
  async clone(body: BodyOf<'cloneFromStore'>): Promise<ReplyOf<'cloneFromStore'>> {
    return this.request('POST', 'api/bookstore/clone', { body });
  }

  /** `GET /api/bookstore/{area}/{path}/versions`: one page of versions, newest first. */
  async versions(
    area: Area,
    path: string,
    query: QueryOf<'listWorkspaceVersions'> = {}
  ): Promise<ReplyOf<'listWorkspaceVersions'>> {
    return this.request('GET', `api/bookstore/${area}/${encodePath(path)}/versions`, { query });
  }

  /** `GET /api/bookstore/{area}/{path}/versions/{id}`: one version as a read-only model. */
  async version(area: Area, path: string, id: string): Promise<ReplyOf<'getWorkspaceVersion'>> {
    const route = `api/bookstore/${area}/${encodePath(path)}/versions/${encodeURIComponent(id)}`;
    return this.request('GET', route);
  }

  /** `POST /api/bookstore/workspace/{path}/versions/{id}`: restore a version (a new save;
   * no body). */
  async restore(path: string, id: string): Promise<ReplyOf<'restoreWorkspaceVersion'>> {
    const route = `api/bookstore/workspace/${encodePath(path)}/versions/${encodeURIComponent(id)}`;
    return this.request('POST', route);
  }

  /** `PATCH /api/bookstore/workspace/{path}/versions/{id}`: name, describe or pin a version
   * (absent fields stay as they are; `""` or null clears a name or description). A pending
   * save is annotated once the archiver stored it. */
  async annotate(path: string, id: string, body: VersionAnnotation): Promise<VersionItem> {
    const route = `api/bookstore/workspace/${encodePath(path)}/versions/${encodeURIComponent(id)}`;
    return this.request('PATCH', route, { body });
  }

  /** `GET /api/bookstore/{area}/{path}/diff`: nbdime's diff of two sides (an id, `latest`
   * or `current`); `options` hides parts of it on the server (`hide`, `only`). */
  async diff(
    area: Area,
    path: string,
    base: string,
    remote: string,
    options: DiffOptions = {}
  ): Promise<ReplyOf<'diffWorkspaceVersions'>> {
    const hide = options.hide?.length ? [...options.hide].sort().join(',') : undefined;
    return this.request('GET', `api/bookstore/${area}/${encodePath(path)}/diff`, {
      query: { base, remote, hide, only: options.only }
    });
  }

  /** `GET /api/bookstore/published`: one page of the catalog of published notebooks. */
  async catalog(query: QueryOf<'listPublished'> = {}): Promise<ReplyOf<'listPublished'>> {
    return this.request('GET', 'api/bookstore/published', { query });
  }

  /** `GET /api/bookstore/runs`: one page of the user's runs, newest first. */
  async runs(query: QueryOf<'listRuns'> = {}): Promise<ReplyOf<'listRuns'>> {
    return this.request('GET', 'api/bookstore/runs', { query });
  }

  /** `POST /api/bookstore/runs`: queue a run now; `idempotencyKey` makes a repeated
   * request answer the first run instead of queuing a second one. */
  async submitRun(body: RunRequest, idempotencyKey?: string): Promise<Run> {
    const headers = idempotencyKey ? { 'Idempotency-Key': idempotencyKey } : undefined;
    return this.request('POST', 'api/bookstore/runs', { body, headers });
  }

  /** `GET /api/bookstore/runs/parameters`: the parameters a stored notebook declares. */
  async runParameters(query: QueryOf<'getRunParameters'>): Promise<RunParameters> {
    return this.request('GET', 'api/bookstore/runs/parameters', { query });
  }

  /** `GET /api/bookstore/runs/{id}`: one run. */
  async run(id: string): Promise<Run> {
    return this.request('GET', `api/bookstore/runs/${encodeURIComponent(id)}`);
  }

  /** `POST /api/bookstore/runs/{id}/cancel`: cancel a queued or running run. */
  async cancelRun(id: string): Promise<Run> {
    return this.request('POST', `api/bookstore/runs/${encodeURIComponent(id)}/cancel`);
  }

  /** `GET /api/bookstore/runs/{id}/log`: what the run's cells printed, from `offset` on. */
  async runLog(id: string, offset = 0): Promise<RunLog> {
    return this.request('GET', `api/bookstore/runs/${encodeURIComponent(id)}/log`, {
      query: { offset }
    });
  }

  /** `GET /api/bookstore/runs/{id}/notebook`: the run's output notebook (the partial one
   * while it runs). */
  async runNotebook(id: string): Promise<Record<string, unknown>> {
    return this.request('GET', `api/bookstore/runs/${encodeURIComponent(id)}/notebook`);
  }

  /** `GET /api/bookstore/schedules`: the user's schedules with their last runs. */
  async schedules(): Promise<ReplyOf<'listSchedules'>> {
    return this.request('GET', 'api/bookstore/schedules');
  }

  /** `POST /api/bookstore/schedules`: create a schedule. */
  async createSchedule(body: ScheduleRequest): Promise<Schedule> {
    return this.request('POST', 'api/bookstore/schedules', { body });
  }

  /** `GET /api/bookstore/schedules/preview`: the next fire times of `cron` in `timezone`. */
  async previewSchedule(query: QueryOf<'previewSchedule'>): Promise<FireTime[]> {
    const reply: ReplyOf<'previewSchedule'> = await this.request(
      'GET',
      'api/bookstore/schedules/preview',
      { query }
    );
    return reply.next_fire_times;
  }

  /** `GET /api/bookstore/schedules/{id}`: one schedule with its last run. */
  async schedule(id: string): Promise<ScheduleWithLastRun> {
    return this.request('GET', `api/bookstore/schedules/${encodeURIComponent(id)}`);
  }

  /** `PATCH /api/bookstore/schedules/{id}`: change fields (`revision` guards the change). */
  async updateSchedule(id: string, body: SchedulePatch): Promise<Schedule> {
    return this.request('PATCH', `api/bookstore/schedules/${encodeURIComponent(id)}`, { body });
  }

  /** `DELETE /api/bookstore/schedules/{id}`: delete a schedule (its runs stay). */
  async deleteSchedule(id: string): Promise<void> {
    await this.request('DELETE', `api/bookstore/schedules/${encodeURIComponent(id)}`);
  }

  /** `POST /api/bookstore/schedules/{id}/pause` or `/resume`. */
  async setSchedulePaused(id: string, paused: boolean): Promise<Schedule> {
    const action = paused ? 'pause' : 'resume';
    return this.request('POST', `api/bookstore/schedules/${encodeURIComponent(id)}/${action}`);
  }

  /** `POST /api/bookstore/schedules/{id}/run`: run the schedule now (its settings). */
  async runScheduleNow(id: string): Promise<Run> {
    return this.request('POST', `api/bookstore/schedules/${encodeURIComponent(id)}/run`);
  }

  /** An absolute URL (with the page's origin) for a server-relative one like `clone_url`. */
  absoluteUrl(url: string): string {
    return new URL(url, window.location.origin).href;
  }

  private async request<T>(
    method: string,
    route: string,
    options: { query?: object; body?: unknown; headers?: Record<string, string> } = {}
  ): Promise<T> {
    let url = URLExt.join(this.serverSettings.baseUrl, route);
    const query = Object.entries(options.query ?? {}).filter(
      ([, value]) => value !== undefined && value !== null && value !== ''
    );
    if (query.length) {
      url += URLExt.objectToQueryString(Object.fromEntries(query.map(([k, v]) => [k, String(v)])));
    }
    const headers: Record<string, string> = { ...options.headers };
    const init: RequestInit = { method, headers };
    if (options.body !== undefined) {
      init.body = JSON.stringify(options.body);
      headers['Content-Type'] = 'application/json';
    }
    let response: Response;
    try {
      response = await ServerConnection.makeRequest(url, init, this.serverSettings);
    } catch (error) {
      throw new BookstoreError(`Could not reach the Jupyter server: ${String(error)}`, 0);
    }
    const text = await response.text();
    let data: any = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
    if (!response.ok) {
      const message =
        (data && typeof data.message === 'string' && data.message) ||
        `The server answered ${response.status} ${response.statusText} to ${method} ${route}.`;
      throw new BookstoreError(message, response.status);
    }
    return data as T;
  }
}
