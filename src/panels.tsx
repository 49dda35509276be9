/**
 * What the sidebar panels share: their labelled region, and a paged list that reloads when
 * its inputs change and appends the next page on demand.
 */
import { ReactWidget } from '@jupyterlab/apputils';
import { type LabIcon, refreshIcon } from '@jupyterlab/ui-components';
import type { Widget } from '@lumino/widgets';
import React, { useCallback, useEffect, useState } from 'react';

import { notifyError } from './notify';

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
 * `generation` changes at every reload (a dependency of its list's loading). */
export abstract class ReloadingPanel extends ReactWidget {
  /** Reload what the panel shows (after a save, publish, restore…). */
  refresh(): void {
    this.generation += 1;
    this.update();
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
          setError(err instanceof Error ? err.message : String(err));
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
