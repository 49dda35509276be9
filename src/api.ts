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

/** Where a path lives: files of the workspace (archived saves) or published notebooks. */
export type Area = 'workspace' | 'published';

/** The query parameters of an operation, as the spec declares them. */
type QueryOf<Op extends keyof operations> = operations[Op]['parameters'] extends {
  query?: infer Q;
}
  ? NonNullable<Q>
  : never;

/** The JSON body of an operation's success reply (200 or 201). */
type ReplyOf<Op extends keyof operations> = operations[Op]['responses'] extends {
  200: { content: { 'application/json': infer T } };
}
  ? T
  : operations[Op]['responses'] extends {
        201: { content: { 'application/json': infer T } };
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

  /** `GET /api/bookstore/publish/{path}`: the latest published version; null if unpublished. */
  async published(path: string): Promise<ReplyOf<'describePublished'> | null> {
    try {
      return await this.request('GET', `api/bookstore/publish/${encodePath(path)}`);
    } catch (error) {
      if (error instanceof BookstoreError && error.status === 404) {
        return null;
      }
      throw error;
    }
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

  /** `GET /api/bookstore/{area}/{path}/diff`: nbdime's diff of two sides (an id, `latest`
   * or `current`). */
  async diff(area: Area, path: string, base: string, remote: string): Promise<ReplyOf<'diffWorkspaceVersions'>> {
    return this.request('GET', `api/bookstore/${area}/${encodePath(path)}/diff`, {
      query: { base, remote }
    });
  }

  /** `GET /api/bookstore/published`: one page of the catalog of published notebooks. */
  async catalog(query: QueryOf<'listPublished'> = {}): Promise<ReplyOf<'listPublished'>> {
    return this.request('GET', 'api/bookstore/published', { query });
  }

  /** An absolute URL (with the page's origin) for a server-relative one like `clone_url`. */
  absoluteUrl(url: string): string {
    return new URL(url, window.location.origin).href;
  }

  private async request<T>(
    method: string,
    route: string,
    options: { query?: object; body?: unknown } = {}
  ): Promise<T> {
    let url = URLExt.join(this.serverSettings.baseUrl, route);
    const query = Object.entries(options.query ?? {}).filter(
      ([, value]) => value !== undefined && value !== null && value !== ''
    );
    if (query.length) {
      url += URLExt.objectToQueryString(Object.fromEntries(query.map(([k, v]) => [k, String(v)])));
    }
    const init: RequestInit = { method };
    if (options.body !== undefined) {
      init.body = JSON.stringify(options.body);
      init.headers = { 'Content-Type': 'application/json' };
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
