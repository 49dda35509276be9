/**
 * The published catalog (left sidebar): everything published, searchable by name, with
 * open, history, clone, copy link and unpublish.
 */
import React, { useEffect, useState } from 'react';

import type { BookstoreAPI, CatalogItem } from './api';
import { bookstoreIcon } from './icons';
import {
  PagedListMore,
  PagedListStatus,
  PanelHeader,
  ReloadingPanel,
  setUpPanel,
  TimeSize,
  usePagedList
} from './panels';

/** What the catalog's buttons do (implemented in `actions.ts`). */
export interface ICatalogActions {
  openPublished(item: CatalogItem): Promise<void>;
  showPublishedHistory(item: CatalogItem): Promise<void>;
  cloneFromCatalog(item: CatalogItem): Promise<void>;
  copyLink(item: CatalogItem): Promise<void>;
  /** Unpublish after a confirmation (then the panels refresh). */
  unpublish(path: string): Promise<boolean>;
}

/** Items per page. */
const CATALOG_PAGE_SIZE = 50;
/** How long typing must pause before the catalog is searched, in ms. */
const SEARCH_DELAY_MS = 250;

/** The catalog widget. */
export class CatalogPanel extends ReloadingPanel {
  constructor(
    private readonly api: BookstoreAPI,
    private readonly actions: ICatalogActions
  ) {
    super();
    setUpPanel(this, {
      id: 'bookstore-catalog',
      className: 'jp-bookstore-Catalog',
      icon: bookstoreIcon,
      label: 'Published notebooks'
    });
  }

  protected render(): JSX.Element {
    return (
      <CatalogView
        api={this.api}
        actions={this.actions}
        generation={this.generation}
        onRefresh={() => this.refresh()}
      />
    );
  }
}

interface ICatalogViewProps {
  api: BookstoreAPI;
  actions: ICatalogActions;
  generation: number;
  onRefresh(): void;
}

function CatalogView(props: ICatalogViewProps): JSX.Element {
  const { api, actions, generation } = props;
  const [query, setQuery] = useState('');
  const [search, setSearch] = useState('');

  useEffect(() => {
    const timer = window.setTimeout(() => setSearch(query.trim()), SEARCH_DELAY_MS);
    return () => window.clearTimeout(timer);
  }, [query]);

  const list = usePagedList<CatalogItem>(
    async token => {
      const page = await api.catalog({
        q: search,
        limit: CATALOG_PAGE_SIZE,
        page_token: token ?? undefined
      });
      return { items: page.items, next: page.next_token };
    },
    [api, search, generation],
    'Loading more published notebooks'
  );

  return (
    <div className="jp-bookstore-panel" aria-busy={list.loading}>
      <PanelHeader
        title="Published notebooks"
        refreshLabel="Refresh published notebooks"
        onRefresh={props.onRefresh}
      />
      <input
        className="jp-mod-styled jp-bookstore-search"
        type="search"
        placeholder="Search by name"
        aria-label="Search published notebooks by name"
        value={query}
        onChange={event => setQuery(event.target.value)}
      />
      <PagedListStatus
        error={list.error}
        loading={list.loading}
        count={list.items.length}
        empty={search ? `Nothing published matches “${search}”.` : 'Nothing is published yet.'}
      />
      <ul className="jp-bookstore-list" aria-label="Published notebooks">
        {list.items.map(item => (
          <li
            key={item.path}
            className="jp-bookstore-published"
            data-path={item.path}
            aria-label={item.path}
          >
            <div className="jp-bookstore-publishedName" title={item.path}>
              {item.path}
            </div>
            <div className="jp-bookstore-versionLine">
              <TimeSize lastModified={item.last_modified} id={item.version_id} size={item.size} />
              {item.owner ? (
                <span
                  className="jp-bookstore-owner"
                  title={
                    item.published_by && item.published_by !== item.owner
                      ? `Owned by ${item.owner}; this version published by ${item.published_by}`
                      : `Published by ${item.owner}`
                  }
                >
                  by {item.owner}
                </span>
              ) : null}
            </div>
            <div className="jp-bookstore-actions" role="group" aria-label={`Actions for ${item.path}`}>
              <button
                className="jp-mod-styled"
                onClick={() => void actions.openPublished(item)}
                aria-label={`Open ${item.path} read-only`}
                title="Open the latest published version read-only"
              >
                Open
              </button>
              <button
                className="jp-mod-styled"
                onClick={() => void actions.showPublishedHistory(item)}
                aria-label={`History of ${item.path}`}
                title="Show every published version"
              >
                History
              </button>
              <button
                className="jp-mod-styled jp-mod-accept"
                onClick={() => void actions.cloneFromCatalog(item)}
                aria-label={`Clone ${item.path} into the workspace`}
                title="Clone into your workspace"
              >
                Clone
              </button>
              <button
                className="jp-mod-styled"
                onClick={() => void actions.copyLink(item)}
                aria-label={`Copy the clone link of ${item.path}`}
                title="Copy the landing page link that clones this notebook"
              >
                Copy link
              </button>
              <button
                className="jp-mod-styled jp-mod-warn"
                onClick={() => void actions.unpublish(item.path)}
                aria-label={`Unpublish ${item.path}`}
                title="Unpublish (its published history stays)"
              >
                Unpublish
              </button>
            </div>
          </li>
        ))}
      </ul>
      <PagedListMore list={list} label="Load more" />
    </div>
  );
}
