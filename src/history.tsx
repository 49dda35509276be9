/**
 * The History panel (right sidebar): the versions of the active notebook as a timeline,
 * newest first, or, when asked from the catalog, a published notebook's versions.
 *
 * A row is a version: when it was saved, its size, name and description, badges (latest,
 * pending, pinned, published, oldest) and the name it was saved under before a rename.
 * Selecting a row previews its diff against the current notebook in one reused tab; the
 * row's menu (its ⋯ button, right click, Shift+F10) and the preview's toolbar hold the
 * actions, Restore among them (one deliberate action, confirmed). The panel can show only
 * named (or pinned) versions, or search the versions' cells for a text.
 */
import { CommandRegistry } from '@lumino/commands';
import { Menu } from '@lumino/widgets';
import { ellipsesIcon, historyIcon } from '@jupyterlab/ui-components';
import React, { useCallback, useEffect, useRef, useState } from 'react';

import type { IDiffRequest } from './actions';
import type { Area, BookstoreAPI, VersionItem } from './api';
import type { IStoredNotebook } from './clone';
import { baseName, relativeTime } from './format';
import { errorMessage, notifySuccess } from './notify';
import {
  PagedListMore,
  PagedListStatus,
  PanelHeader,
  ReloadingPanel,
  setUpPanel,
  TimeSize,
  usePagedList
} from './panels';
import type { IDiffAction } from './views';

/** What the panel's rows and the preview do (implemented in `actions.ts`). */
export interface IHistoryActions {
  openVersion(area: Area, path: string, id: string): Promise<void>;
  showDiff(request: IDiffRequest): Promise<void>;
  restore(path: string, version: VersionItem): Promise<boolean>;
  cloneVersion(source: IStoredNotebook, version: VersionItem): Promise<void>;
  nameVersion(path: string, version: VersionItem): Promise<boolean>;
  setPinned(path: string, version: VersionItem, pinned: boolean): Promise<boolean>;
  /** Selecting a row previews its diff (JupyterLab); else a row opens it on demand. */
  readonly previewsOnSelect: boolean;
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
/** How long the search text must stay unchanged before the search starts, in ms. */
const SEARCH_DELAY_MS = 350;

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

/** What a search reply says about the scan. */
interface ISearchInfo {
  q: string;
  scanned: number;
  scan_limit: number;
  exhausted: boolean;
}

/** A version item with what a search found in it. */
type ListedVersion = VersionItem & {
  matches?: { cell: number; cell_type: string; snippet: string }[];
};

/** A row's menu entry. */
interface IMenuEntry {
  label: string;
  execute(): void;
  separatorBefore?: boolean;
}

/** Show `entries` as a menu at (`x`, `y`); it is disposed once closed. */
function showMenu(entries: IMenuEntry[], x: number, y: number, label: string): void {
  const commands = new CommandRegistry();
  const menu = new Menu({ commands });
  menu.addClass('jp-bookstore-rowMenuPopup');
  menu.node.setAttribute('aria-label', label);
  entries.forEach((entry, index) => {
    if (entry.separatorBefore) {
      menu.addItem({ type: 'separator' });
    }
    const id = `bookstore-row-${index}`;
    commands.addCommand(id, { label: entry.label, execute: () => entry.execute() });
    menu.addItem({ command: id });
  });
  menu.aboutToClose.connect(() => window.setTimeout(() => menu.dispose(), 0));
  menu.open(x, y);
}

/** "version saved 3 minutes ago (1/12/2026, 10:02:11)", with its name. */
function versionLabel(version: VersionItem): string {
  const when = relativeTime(version.last_modified);
  const name = version.name ? `“${version.name}”, ` : '';
  return `${name}version saved ${when.text} (${when.exact})`;
}

function HistoryView(props: IHistoryViewProps): JSX.Element {
  const { api, actions, target, publish, generation } = props;
  const workspace = target.area === 'workspace';
  const current = workspace ? 'current' : 'latest';
  const [published, setPublished] = useState<{ etag: string | null; error: string | null }>({
    etag: null,
    error: null
  });
  const [namedOnly, setNamedOnly] = useState(false);
  const [searchText, setSearchText] = useState('');
  const [query, setQuery] = useState('');
  const [search, setSearch] = useState<ISearchInfo | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [compareBase, setCompareBase] = useState<VersionItem | null>(null);
  const listRef = useRef<HTMLUListElement>(null);

  // The search starts once the text stopped changing.
  useEffect(() => {
    const timer = window.setTimeout(() => setQuery(searchText.trim()), SEARCH_DELAY_MS);
    return () => window.clearTimeout(timer);
  }, [searchText]);

  const list = usePagedList<ListedVersion>(
    async token => {
      const page = await api.versions(target.area, target.path, {
        limit: PAGE_SIZE,
        page_token: token ?? undefined,
        ...(namedOnly ? { named: true } : {}),
        ...(query ? { q: query } : {})
      } as any);
      const info = (page as { search?: ISearchInfo }).search ?? null;
      if (!token || info) {
        setSearch(current =>
          info && token && current ? { ...info, scanned: current.scanned + info.scanned } : info
        );
      }
      return { items: page.versions as ListedVersion[], next: page.next_token };
    },
    [api, target.area, target.path, generation, namedOnly, query],
    query ? 'Searching older versions' : 'Loading more versions'
  );
  const { items: versions, hasMore, loading } = list;

  // Which version is published (same path, same content): its etag.
  useEffect(() => {
    let cancelled = false;
    if (!workspace || !publish) {
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
  }, [api, target.path, workspace, publish, generation]);

  const preview = useCallback(
    (version: VersionItem, options: { refreshOnly?: boolean; focus?: boolean } = {}) => {
      const names: Record<string, string> = version.name ? { [version.id]: version.name } : {};
      void actions.showDiff({
        area: target.area,
        path: target.path,
        base: version.id,
        remote: current,
        names,
        preview: true,
        refreshOnly: options.refreshOnly,
        // A selection keeps the focus in the list (its arrow keys go on selecting).
        focus: options.focus ?? false,
        actions: previewActions(version)
      });
    },
    // previewActions reads the props only
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [actions, target.area, target.path, current, published.etag]
  );

  // After a save or a restore the preview's "current" side moved: show it again, in place.
  useEffect(() => {
    const version = versions.find(item => item.id === selected);
    if (version && actions.previewsOnSelect) {
      preview(version, { refreshOnly: true });
    }
    // Only when the list was loaded again.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [versions]);

  const compare = (first: VersionItem, second: VersionItem) => {
    const [older, newer] =
      first.last_modified <= second.last_modified ? [first, second] : [second, first];
    const names: Record<string, string> = {};
    for (const version of [older, newer]) {
      if (version.name) {
        names[version.id] = version.name;
      }
    }
    void actions.showDiff({
      area: target.area,
      path: target.path,
      base: older.id,
      remote: newer.id,
      names,
      preview: actions.previewsOnSelect,
      focus: false
    });
  };

  const select = (version: VersionItem, how: 'click' | 'key' | 'open') => {
    setSelected(version.id);
    if (compareBase && compareBase.id !== version.id) {
      setCompareBase(null);
      compare(compareBase, version);
      return;
    }
    if (actions.previewsOnSelect || how === 'open') {
      preview(version);
    }
  };

  const restore = async (version: VersionItem) => {
    if (await actions.restore(target.path, version)) {
      props.onRefresh();
    }
  };
  const rename = async (version: VersionItem) => {
    if (await actions.nameVersion(target.path, version)) {
      props.onRefresh();
    }
  };
  const pin = async (version: VersionItem) => {
    if (await actions.setPinned(target.path, version, !version.pinned)) {
      props.onRefresh();
    }
  };

  /** The preview toolbar's buttons for `version`. */
  function previewActions(version: VersionItem): IDiffAction[] {
    const label = versionLabel(version);
    const open: IDiffAction = {
      action: 'open',
      label: 'Open read-only',
      title: `Open the ${label} read-only`,
      onClick: () => actions.openVersion(target.area, target.path, version.id)
    };
    if (target.area !== 'workspace') {
      return [
        open,
        {
          action: 'clone',
          label: 'Clone…',
          title: `Clone the ${label} into your workspace`,
          onClick: () => actions.cloneVersion(target, version)
        }
      ];
    }
    return [
      open,
      {
        action: 'name',
        label: version.name ? 'Rename…' : 'Name…',
        title: `Name or describe the ${label}`,
        onClick: () => rename(version)
      },
      {
        action: 'pin',
        label: version.pinned ? 'Unpin' : 'Pin',
        title: version.pinned
          ? 'Let the retention policy prune this version again'
          : 'Keep this version forever (retention never prunes it)',
        onClick: () => pin(version)
      },
      {
        action: 'restore',
        label: 'Restore this version…',
        title: 'Write this version over the notebook (saved as a new version)',
        warn: true,
        onClick: () => restore(version)
      }
    ];
  }

  const menuEntries = (version: VersionItem, index: number): IMenuEntry[] => {
    const older = versions[index + 1];
    const entries: IMenuEntry[] = [
      {
        label: `Diff against the ${current} notebook`,
        execute: () => {
          setSelected(version.id);
          preview(version, { focus: true });
        }
      },
      {
        label: 'Open read-only',
        execute: () => void actions.openVersion(target.area, target.path, version.id)
      },
      {
        label: 'Compare with another version…',
        execute: () => setCompareBase(version)
      }
    ];
    if (older) {
      entries.push({ label: 'Compare with the version before', execute: () => compare(older, version) });
    }
    if (workspace) {
      entries.push(
        {
          label: version.name ? 'Rename…' : 'Name…',
          execute: () => void rename(version),
          separatorBefore: true
        },
        { label: version.pinned ? 'Unpin' : 'Pin (keep forever)', execute: () => void pin(version) }
      );
    }
    entries.push({
      label: 'Copy version id',
      execute: () => {
        void navigator.clipboard?.writeText(version.id);
        notifySuccess(`Copied the version id ${version.id}.`);
      }
    });
    entries.push(
      workspace
        ? { label: 'Restore this version…', execute: () => void restore(version), separatorBefore: true }
        : { label: 'Clone…', execute: () => void actions.cloneVersion(target, version), separatorBefore: true }
    );
    return entries;
  };

  const openMenu = (version: VersionItem, index: number, x: number, y: number) => {
    setSelected(version.id);
    showMenu(menuEntries(version, index), x, y, `Actions for the ${versionLabel(version)}`);
  };

  const onKeyDown = (event: React.KeyboardEvent<HTMLLIElement>, index: number) => {
    const version = versions[index];
    let next: number | null = null;
    if (event.key === 'ArrowDown') {
      next = Math.min(index + 1, versions.length - 1);
    } else if (event.key === 'ArrowUp') {
      next = Math.max(index - 1, 0);
    } else if (event.key === 'Home') {
      next = 0;
    } else if (event.key === 'End') {
      next = versions.length - 1;
    } else if (event.key === 'Enter' || event.key === ' ') {
      event.preventDefault();
      select(version, 'open');
      return;
    } else if (event.key === 'Escape' && compareBase) {
      setCompareBase(null);
      return;
    } else if (event.key === 'ContextMenu' || (event.key === 'F10' && event.shiftKey)) {
      event.preventDefault();
      const box = event.currentTarget.getBoundingClientRect();
      openMenu(version, index, box.left + 16, box.bottom);
      return;
    }
    if (next !== null && next !== index) {
      event.preventDefault();
      select(versions[next], 'key');
      listRef.current?.querySelectorAll<HTMLElement>('[role="option"]')[next]?.focus();
    }
  };

  const heading = workspace ? 'History' : 'Published history';
  const filtered = namedOnly || !!query;
  const empty = query
    ? `No version${search && !search.exhausted ? ' among the ones searched' : ''} contains “${query}”.`
    : namedOnly
      ? workspace
        ? 'No named or pinned versions yet: name one from its menu (⋯), or “Save a named version”.'
        : 'No named versions.'
      : 'No versions yet: every save of this notebook becomes one.';
  const focusIndex = Math.max(
    0,
    versions.findIndex(item => item.id === selected)
  );
  return (
    <div className="jp-bookstore-panel" aria-busy={loading}>
      <PanelHeader
        title={`${heading}: ${baseName(target.path)}`}
        tooltip={target.path}
        refreshLabel="Refresh history"
        onRefresh={props.onRefresh}
      />
      <div className="jp-bookstore-historyTools">
        <input
          type="search"
          className="jp-mod-styled jp-bookstore-historySearch"
          placeholder="Search the versions’ cells"
          aria-label={`Search the versions of ${baseName(target.path)} for a text in their cells`}
          value={searchText}
          onChange={event => setSearchText(event.target.value)}
          onKeyDown={event => {
            if (event.key === 'Enter') {
              setQuery(searchText.trim());
            } else if (event.key === 'Escape') {
              setSearchText('');
              setQuery('');
            }
          }}
        />
        <label className="jp-bookstore-check">
          <input
            type="checkbox"
            checked={namedOnly}
            onChange={event => setNamedOnly(event.target.checked)}
          />
          Named only
        </label>
      </div>
      {compareBase && (
        <div className="jp-bookstore-compareHint" role="status">
          Comparing with {compareBase.name ? `“${compareBase.name}”` : relativeTime(compareBase.last_modified).text}:
          choose the other version.{' '}
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
        empty={empty}
      />
      <ul
        ref={listRef}
        className="jp-bookstore-list jp-bookstore-timeline"
        role="listbox"
        aria-label={`Versions of ${target.path}`}
      >
        {versions.map((version, index) => {
          const label = versionLabel(version);
          const isPublished = workspace && !!published.etag && version.etag === published.etag;
          const isSelected = version.id === selected;
          const isCompareBase = version.id === compareBase?.id;
          return (
            <li
              key={version.id}
              className={
                'jp-bookstore-version' +
                (isSelected ? ' jp-mod-selected' : '') +
                (version.name ? ' jp-mod-named' : '') +
                (isCompareBase ? ' jp-mod-compareBase' : '')
              }
              role="option"
              aria-selected={isSelected}
              tabIndex={index === focusIndex ? 0 : -1}
              data-version-id={version.id}
              aria-label={label}
              title={actions.previewsOnSelect ? 'Select to preview its changes' : 'Enter: show its changes'}
              onClick={() => select(version, 'click')}
              onDoubleClick={() => !actions.previewsOnSelect && select(version, 'open')}
              onKeyDown={event => onKeyDown(event, index)}
              onContextMenu={event => {
                event.preventDefault();
                event.stopPropagation();
                openMenu(version, index, event.clientX, event.clientY);
              }}
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
                {version.pinned && (
                  <span className="jp-bookstore-badge jp-mod-pinned" title="Kept forever: retention never prunes it">
                    pinned
                  </span>
                )}
                {isPublished && <span className="jp-bookstore-badge jp-mod-published">published</span>}
                {index === versions.length - 1 && !hasMore && !filtered && (
                  <span className="jp-bookstore-badge jp-mod-oldest">oldest</span>
                )}
                <button
                  className="jp-bookstore-iconButton jp-bookstore-rowMenu"
                  aria-label={`Actions for the ${label}`}
                  aria-haspopup="menu"
                  title="Actions: diff, open, compare, name, pin, restore"
                  tabIndex={-1}
                  onClick={event => {
                    event.stopPropagation();
                    const box = event.currentTarget.getBoundingClientRect();
                    openMenu(version, index, box.left, box.bottom);
                  }}
                >
                  <ellipsesIcon.react tag="span" />
                </button>
              </div>
              {version.name && (
                <div
                  className="jp-bookstore-versionName"
                  title={version.named_by ? `Named by ${version.named_by}` : undefined}
                >
                  {version.name}
                </div>
              )}
              {version.description && (
                <div className="jp-bookstore-versionDescription">{version.description}</div>
              )}
              {version.path !== target.path && (
                <div className="jp-bookstore-renamed">saved as {version.path}</div>
              )}
              {version.matches && version.matches.length > 0 && (
                <ul className="jp-bookstore-matches" aria-label="Where the text was found">
                  {version.matches.map(match => (
                    <li key={match.cell}>
                      <span className="jp-bookstore-matchCell">
                        {match.cell_type} cell {match.cell + 1}:
                      </span>{' '}
                      {match.snippet}
                    </li>
                  ))}
                </ul>
              )}
            </li>
          );
        })}
      </ul>
      <PagedListMore list={list} label={query ? 'Search older versions' : 'Load older versions'} />
      {!loading && !list.error && (versions.length > 0 || search) && (
        <div className="jp-bookstore-footnote" role="status">
          {search
            ? `Searched ${search.scanned} version${search.scanned === 1 ? '' : 's'}` +
              `${hasMore ? ' (older ones not yet)' : ''}: ${versions.length} contain “${search.q}”.`
            : `Showing ${versions.length} ${namedOnly ? 'named ' : ''}version` +
              `${versions.length === 1 ? '' : 's'}${hasMore ? ' (more available)' : ''}.`}
        </div>
      )}
    </div>
  );
}
