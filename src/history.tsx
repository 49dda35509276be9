/**
 * The History panel (right sidebar): the versions of the active notebook, newest first,
 * with open, diff and restore; or, when asked from the catalog, a published notebook's
 * versions.
 */
import { historyIcon } from '@jupyterlab/ui-components';
import React, { useEffect, useState } from 'react';

import type { Area, BookstoreAPI, VersionItem } from './api';
import { baseName, formatSize, relativeTime } from './format';
import { PanelHeader, ReloadingPanel, setUpPanel, usePagedList } from './panels';

/** What the panel's buttons do (implemented in `actions.ts`). */
export interface IHistoryActions {
  openVersion(area: Area, path: string, id: string): Promise<void>;
  openDiff(area: Area, path: string, base: string, remote: string): Promise<void>;
  restore(path: string, version: VersionItem): Promise<boolean>;
  cloneVersion(path: string, version: VersionItem): Promise<void>;
}

/** The notebook the panel shows. */
export interface IHistoryTarget {
  area: Area;
  path: string;
}

/** Versions per page. */
export const PAGE_SIZE = 20;

/** The History panel widget. */
export class HistoryPanel extends ReloadingPanel {
  constructor(
    private readonly api: BookstoreAPI,
    private readonly actions: IHistoryActions
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
  get target(): IHistoryTarget | null {
    return this._target;
  }

  /** Show the history of `target` (null: none). */
  showTarget(target: IHistoryTarget | null): void {
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
          Open a notebook to see its saved versions.
        </div>
      );
    }
    return (
      <HistoryView
        key={`${this._target.area}:${this._target.path}`}
        api={this.api}
        actions={this.actions}
        target={this._target}
        generation={this.generation}
        onRefresh={() => this.refresh()}
      />
    );
  }

  private _target: IHistoryTarget | null = null;
}

interface IHistoryViewProps {
  api: BookstoreAPI;
  actions: IHistoryActions;
  target: IHistoryTarget;
  generation: number;
  onRefresh(): void;
}

function HistoryView(props: IHistoryViewProps): JSX.Element {
  const { api, actions, target, generation } = props;
  const [publishedEtag, setPublishedEtag] = useState<string | null>(null);
  const [compareBase, setCompareBase] = useState<VersionItem | null>(null);
  const [busy, setBusy] = useState(false);

  const {
    items: versions,
    hasMore,
    loading,
    error,
    loadMore
  } = usePagedList<VersionItem>(
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

  // Which version is published (same path, same content): its etag.
  useEffect(() => {
    let cancelled = false;
    if (target.area !== 'workspace') {
      setPublishedEtag(null);
      return;
    }
    api
      .published(target.path)
      .then(info => !cancelled && setPublishedEtag(info?.etag || null))
      .catch(() => !cancelled && setPublishedEtag(null));
    return () => {
      cancelled = true;
    };
  }, [api, target.area, target.path, generation]);

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
      {error && (
        <div className="jp-bookstore-error" role="alert">
          {error}
        </div>
      )}
      {!error && !loading && versions.length === 0 && (
        <div className="jp-bookstore-empty">
          No versions yet: every save of this notebook becomes one.
        </div>
      )}
      <ul className="jp-bookstore-list" aria-label={`Versions of ${target.path}`}>
        {versions.map((version, index) => {
          const when = relativeTime(version.last_modified);
          const label = `version saved ${when.text}`;
          const isPublished = !!publishedEtag && version.etag === publishedEtag;
          return (
            <li
              key={version.id}
              className="jp-bookstore-version"
              data-version-id={version.id}
              aria-label={label}
            >
              <div className="jp-bookstore-versionLine">
                <span className="jp-bookstore-time" title={`${when.exact}\n${version.id}`}>
                  {when.text}
                </span>
                <span className="jp-bookstore-size">{formatSize(version.size)}</span>
                {version.is_latest && <span className="jp-bookstore-badge">latest</span>}
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
                {workspace ? (
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
                    onClick={() => run(() => actions.cloneVersion(target.path, version))}
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
      {hasMore && (
        <button className="jp-mod-styled jp-bookstore-more" disabled={loading} onClick={loadMore}>
          Load older versions
        </button>
      )}
      {loading && <div className="jp-bookstore-loading">Loading…</div>}
      {!loading && !error && versions.length > 0 && (
        <div className="jp-bookstore-footnote">
          Showing {versions.length} version{versions.length === 1 ? '' : 's'}
          {hasMore ? ' (more available)' : ''}.
        </div>
      )}
    </div>
  );
}
