/**
 * The History panel (right sidebar): the versions of the active notebook, newest first,
 * with open, diff and restore; or, when asked from the catalog, a published notebook's
 * versions.
 */
import { historyIcon } from '@jupyterlab/ui-components';
import React, { useEffect, useState } from 'react';

import type { Area, BookstoreAPI, VersionItem } from './api';
import type { IStoredNotebook } from './clone';
import { baseName, relativeTime } from './format';
import { errorMessage } from './notify';
import {
  PagedListMore,
  PagedListStatus,
  PanelHeader,
  ReloadingPanel,
  setUpPanel,
  TimeSize,
  usePagedList
} from './panels';

/** What the panel's buttons do (implemented in `actions.ts`). */
export interface IHistoryActions {
  openVersion(area: Area, path: string, id: string): Promise<void>;
  openDiff(area: Area, path: string, base: string, remote: string): Promise<void>;
  restore(path: string, version: VersionItem): Promise<boolean>;
  cloneVersion(source: IStoredNotebook, version: VersionItem): Promise<void>;
}

/** The notebook the panel shows: a workspace file, or a published notebook (with the
 * bucket and key its versions are cloned from, also once it is unpublished). */
export type HistoryTarget =
  | { area: 'workspace'; path: string }
  | ({ area: 'published' } & IStoredNotebook);

/** What the server supports, as far as the panel is concerned. */
export interface IHistoryOptions {
  /** The workspace history works: the panel follows the active notebook. */
  workspace: boolean;
  /** Publishing works: the version that is published gets a badge. */
  publish: boolean;
}

/** Versions per page. */
const PAGE_SIZE = 20;

/** The History panel widget. */
export class HistoryPanel extends ReloadingPanel {
  constructor(
    private readonly api: BookstoreAPI,
    private readonly actions: IHistoryActions,
    private readonly options: IHistoryOptions
  ) {
    super();
    setUpPanel(this, {
      id: 'bookstore-history',
      className: 'jp-bookstore-History',
      icon: historyIcon,
      label: 'Bookstore history'
    });
  }

  /** What the panel shows; null for "no notebook". */
  get target(): HistoryTarget | null {
    return this._target;
  }

  /** Show the history of `target` (null: none). */
  showTarget(target: HistoryTarget | null): void {
    if (target?.area === this._target?.area && target?.path === this._target?.path) {
      return;
    }
    this._target = target;
    this.update();
  }

  protected render(): JSX.Element {
    if (!this._target) {
      return (
        <div className="jp-bookstore-empty">
          {this.options.workspace
            ? 'Open a notebook to see its saved versions.'
            : 'Choose History on a published notebook to see its versions.'}
        </div>
      );
    }
    return (
      <HistoryView
        key={`${this._target.area}:${this._target.path}`}
        api={this.api}
        actions={this.actions}
        target={this._target}
        publish={this.options.publish}
        generation={this.generation}
        onRefresh={() => this.refresh()}
      />
    );
  }

  private _target: HistoryTarget | null = null;
}

interface IHistoryViewProps {
  api: BookstoreAPI;
  actions: IHistoryActions;
  target: HistoryTarget;
  publish: boolean;
  generation: number;
  onRefresh(): void;
}

function HistoryView(props: IHistoryViewProps): JSX.Element {
  const { api, actions, target, publish, generation } = props;
  const [published, setPublished] = useState<{ etag: string | null; error: string | null }>({
    etag: null,
    error: null
  });
  const [compareBase, setCompareBase] = useState<VersionItem | null>(null);
  const [busy, setBusy] = useState(false);

  const list = usePagedList<VersionItem>(
    async token => {
      const page = await api.versions(target.area, target.path, {
        limit: PAGE_SIZE,
        page_token: token ?? undefined
      });
      return { items: page.versions, next: page.next_token };
    },
    [api, target.area, target.path, generation],
    'Loading more versions'
  );

  const { items: versions, hasMore, loading } = list;

  // Which version is published (same path, same content): its etag. Not published is
  // null (a 404); any other failure shows in the panel.
  useEffect(() => {
    let cancelled = false;
    if (target.area !== 'workspace' || !publish) {
      setPublished({ etag: null, error: null });
      return;
    }
    api.published(target.path).then(
      info => !cancelled && setPublished({ etag: info?.etag || null, error: null }),
      err => !cancelled && setPublished({ etag: null, error: errorMessage(err) })
    );
    return () => {
      cancelled = true;
    };
  }, [api, target.area, target.path, publish, generation]);

  const run = async (task: () => Promise<unknown>) => {
    setBusy(true);
    try {
      await task();
    } finally {
      setBusy(false);
    }
  };

  const workspace = target.area === 'workspace';
  const current = workspace ? 'current' : 'latest';
  const heading = workspace ? 'History' : 'Published history';
  return (
    <div className="jp-bookstore-panel" aria-busy={loading || busy}>
      <PanelHeader
        title={`${heading}: ${baseName(target.path)}`}
        tooltip={target.path}
        refreshLabel="Refresh history"
        onRefresh={props.onRefresh}
      />
      {compareBase && (
        <div className="jp-bookstore-compareHint" role="status">
          Comparing from {relativeTime(compareBase.last_modified).text}: choose “Compare” on
          another version.{' '}
          <button className="jp-mod-styled" onClick={() => setCompareBase(null)}>
            Cancel
          </button>
        </div>
      )}
      <PagedListStatus
        error={
          list.error ??
          (published.error && `Which version is published is unknown: ${published.error}`)
        }
        loading={loading}
        count={versions.length}
        empty="No versions yet: every save of this notebook becomes one."
      />
      <ul className="jp-bookstore-list" aria-label={`Versions of ${target.path}`}>
        {versions.map((version, index) => {
          const when = relativeTime(version.last_modified);
          // The exact time too: saves a few seconds apart read alike ("2 minutes ago").
          const label = `version saved ${when.text} (${when.exact})`;
          const isPublished = !!published.etag && version.etag === published.etag;
          return (
            <li
              key={version.id}
              className="jp-bookstore-version"
              data-version-id={version.id}
              aria-label={label}
            >
              <div className="jp-bookstore-versionLine">
                <TimeSize lastModified={version.last_modified} id={version.id} size={version.size} />
                {version.is_latest && <span className="jp-bookstore-badge">latest</span>}
                {version.pending && (
                  <span
                    className="jp-bookstore-badge jp-mod-pending"
                    title="Saved, not archived yet: it waits in the archive spool"
                  >
                    pending
                  </span>
                )}
                {isPublished && (
                  <span className="jp-bookstore-badge jp-mod-published">published</span>
                )}
                {index === versions.length - 1 && !hasMore && (
                  <span className="jp-bookstore-badge jp-mod-oldest">oldest</span>
                )}
              </div>
              {version.path !== target.path && (
                <div className="jp-bookstore-renamed">saved as {version.path}</div>
              )}
              <div className="jp-bookstore-actions" role="group" aria-label={`Actions for ${label}`}>
                <button
                  className="jp-mod-styled"
                  disabled={busy}
                  onClick={() => run(() => actions.openVersion(target.area, target.path, version.id))}
                  aria-label={`Open the ${label} read-only`}
                  title="Open this version read-only"
                >
                  Open
                </button>
                <button
                  className="jp-mod-styled"
                  disabled={busy}
                  onClick={() =>
                    run(() => actions.openDiff(target.area, target.path, version.id, current))
                  }
                  aria-label={`Diff the ${label} against the ${current} one`}
                  title={`Show what changed from this version to the ${current} notebook`}
                >
                  Diff
                </button>
                <button
                  className="jp-mod-styled"
                  disabled={busy || compareBase?.id === version.id}
                  aria-pressed={compareBase?.id === version.id}
                  onClick={() => {
                    if (!compareBase) {
                      setCompareBase(version);
                      return;
                    }
                    const [older, newer] =
                      compareBase.last_modified <= version.last_modified
                        ? [compareBase, version]
                        : [version, compareBase];
                    setCompareBase(null);
                    void run(() => actions.openDiff(target.area, target.path, older.id, newer.id));
                  }}
                  aria-label={
                    compareBase ? `Compare with the ${label}` : `Compare the ${label} with another version`
                  }
                  title="Diff two versions: choose Compare on both"
                >
                  Compare
                </button>
                {target.area === 'workspace' ? (
                  <button
                    className="jp-mod-styled jp-mod-warn"
                    disabled={busy}
                    onClick={() =>
                      run(async () => {
                        if (await actions.restore(target.path, version)) {
                          props.onRefresh();
                        }
                      })
                    }
                    aria-label={`Restore the ${label}`}
                    title="Write this version over the notebook (a new version)"
                  >
                    Restore
                  </button>
                ) : (
                  <button
                    className="jp-mod-styled"
                    disabled={busy}
                    onClick={() => run(() => actions.cloneVersion(target, version))}
                    aria-label={`Clone the ${label} into the workspace`}
                    title="Clone this version into your workspace"
                  >
                    Clone
                  </button>
                )}
              </div>
            </li>
          );
        })}
      </ul>
      <PagedListMore list={list} label="Load older versions" />
      {!loading && !list.error && versions.length > 0 && (
        <div className="jp-bookstore-footnote">
          Showing {versions.length} version{versions.length === 1 ? '' : 's'}
          {hasMore ? ' (more available)' : ''}.
        </div>
      )}
    </div>
  );
}
