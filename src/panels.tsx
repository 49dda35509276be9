/**
 * What the sidebar panels share: their labelled region, a paged list that reloads when
 * its inputs change and appends the next page on demand, and the list's status lines.
 */
import { ReactWidget } from '@jupyterlab/apputils';
import { type LabIcon, refreshIcon } from '@jupyterlab/ui-components';
import type { Message } from '@lumino/messaging';
import type { Widget } from '@lumino/widgets';
import React, { useCallback, useEffect, useState } from 'react';

import { formatSize, LIVE_TIME_ATTRIBUTE, relativeTime } from './format';
import { errorMessage, notifyError } from './notify';

/** Give a sidebar panel its id, class, tab icon and an accessible name. */
export function setUpPanel(
  widget: Widget,
  options: { id: string; className: string; icon: LabIcon; label: string }
): void {
  widget.id = options.id;
  widget.addClass(options.className);
  widget.title.icon = options.icon;
  widget.title.caption = options.label;
  widget.node.setAttribute('role', 'region');
  widget.node.setAttribute('aria-label', options.label);
}

/** A sidebar panel rendered with React that reloads its content when shown or asked to;
 * `generation` changes at every reload (a dependency of its list's loading).
 *
 * A hidden panel (a collapsed sidebar) neither renders nor loads: showing it reloads. */
export abstract class ReloadingPanel extends ReactWidget {
  /** Reload what the panel shows (after a save, publish, restore…); a hidden panel
   * reloads when it is shown. */
  refresh(): void {
    this.generation += 1;
    this.update();
  }

  protected onUpdateRequest(msg: Message): void {
    if (this.isVisible) {
      super.onUpdateRequest(msg);
    }
  }

  protected onAfterShow(): void {
    this.refresh();
  }

  protected generation = 0;
}

/** A panel's heading with its Refresh button. */
export function PanelHeader(props: {
  title: React.ReactNode;
  tooltip?: string;
  refreshLabel: string;
  onRefresh(): void;
}): JSX.Element {
  return (
    <header className="jp-bookstore-panelHeader">
      <h2 title={props.tooltip}>{props.title}</h2>
      <button
        className="jp-bookstore-iconButton"
        onClick={props.onRefresh}
        aria-label={props.refreshLabel}
        title={props.refreshLabel}
      >
        <refreshIcon.react tag="span" />
      </button>
    </header>
  );
}

/** One page of a listing: the items and the token of the next page (null: the last). */
export interface IPage<T> {
  items: T[];
  next: string | null;
}

/** A paged list's state, and `loadMore` to append the next page. */
export interface IPagedList<T> {
  items: T[];
  hasMore: boolean;
  loading: boolean;
  error: string | null;
  loadMore(): Promise<void>;
}

/**
 * Load the first page with `fetchPage(null)` whenever `deps` change (a stale answer is
 * dropped), and the next one on `loadMore()`. A failed first page is shown in the panel
 * (`error`); a failed next page is a notification named by `what`.
 */
export function usePagedList<T>(
  fetchPage: (token: string | null) => Promise<IPage<T>>,
  deps: unknown[],
  what: string
): IPagedList<T> {
  const [items, setItems] = useState<T[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let cancelled = false;
    setLoading(true);
    fetchPage(null)
      .then(page => {
        if (!cancelled) {
          setItems(page.items);
          setNext(page.next);
          setError(null);
        }
      })
      .catch(err => {
        if (!cancelled) {
          setItems([]);
          setNext(null);
          setError(errorMessage(err));
        }
      })
      .finally(() => {
        if (!cancelled) {
          setLoading(false);
        }
      });
    return () => {
      cancelled = true;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, deps);

  const loadMore = useCallback(async () => {
    if (!next) {
      return;
    }
    setLoading(true);
    try {
      const page = await fetchPage(next);
      setItems(current => [...current, ...page.items]);
      setNext(page.next);
    } catch (err) {
      notifyError(what, err);
    } finally {
      setLoading(false);
    }
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, next]);

  return { items, hasMore: next !== null, loading, error, loadMore };
}

/** Above a paged list: its error (`role="alert"`), or `empty` once it loaded nothing. */
export function PagedListStatus(props: {
  error: string | null;
  loading: boolean;
  count: number;
  empty: string;
}): JSX.Element | null {
  if (props.error) {
    return (
      <div className="jp-bookstore-error" role="alert">
        {props.error}
      </div>
    );
  }
  if (!props.loading && props.count === 0) {
    return <div className="jp-bookstore-empty">{props.empty}</div>;
  }
  return null;
}

/** Below a paged list: the button that loads the next page, and "Loading…". */
export function PagedListMore(props: {
  list: Pick<IPagedList<unknown>, 'hasMore' | 'loading' | 'loadMore'>;
  label: string;
}): JSX.Element {
  const { hasMore, loading, loadMore } = props.list;
  return (
    <>
      {hasMore && (
        <button className="jp-mod-styled jp-bookstore-more" disabled={loading} onClick={loadMore}>
          {props.label}
        </button>
      )}
      {loading && <div className="jp-bookstore-loading">Loading…</div>}
    </>
  );
}

/** A stored object's time (exact time and `id` on hover) and size, in a version line. */
export function TimeSize(props: { lastModified: string; id: string; size: number }): JSX.Element {
  const when = relativeTime(props.lastModified);
  return (
    <>
      <span
        className="jp-bookstore-time"
        title={`${when.exact}\n${props.id}`}
        {...{ [LIVE_TIME_ATTRIBUTE]: props.lastModified }}
      >
        {when.text}
      </span>
      <span className="jp-bookstore-size">{formatSize(props.size)}</span>
    </>
  );
}

/** A relative time ("3 minutes ago") that stays current, the exact time on hover. */
export function LiveTime(props: { iso: string; className?: string }): JSX.Element {
  const when = relativeTime(props.iso);
  return (
    <span
      className={props.className ?? 'jp-bookstore-time'}
      title={when.exact}
      {...{ [LIVE_TIME_ATTRIBUTE]: props.iso }}
    >
      {when.text}
    </span>
  );
}
