/**
 * bookstore's JupyterLab and Notebook 7 extension.
 *
 * One plugin wires the features together; each feature lives in its own module:
 * `publish.ts` (dialog), `history.tsx` (right sidebar), `catalog.tsx` (left sidebar),
 * `clone.ts` (dialogs), `status.ts` (status bar), `views.ts` (read-only version and nbdime
 * diff in the main area), `actions.ts` (what the panels' buttons do), `runs.tsx` (the Runs
 * and Schedules sidebar), `rundialog.ts` (the Run / Schedule dialog), `runactions.ts` (what
 * the Runs panel's buttons do, and notifications when runs end) and `api.ts` (the typed
 * REST client).
 */
import {
  ILayoutRestorer,
  type JupyterFrontEnd,
  type JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { IEditorServices } from '@jupyterlab/codeeditor';
import { IEditorLanguageRegistry } from '@jupyterlab/codemirror';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { INotebookTracker, type NotebookPanel } from '@jupyterlab/notebook';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { IStateDB } from '@jupyterlab/statedb';
import { IStatusBar } from '@jupyterlab/statusbar';
import { historyIcon, shareIcon, tagIcon } from '@jupyterlab/ui-components';

import { BookstoreActions } from './actions';
import { type ArchiveStatus, BookstoreAPI, BookstoreError, type BookstoreInfo } from './api';
import { CatalogPanel } from './catalog';
import { cloneFromStore } from './clone';
import { bookstoreIcon, runsIcon } from './icons';
import { HistoryPanel } from './history';
import { startLiveTimes } from './format';
import { notifyError } from './notify';
import { PublishedPaths, publishNotebook } from './publish';
import { RunActions } from './runactions';
import { RunsPanel } from './runs';
import { ArchiveStatusItem } from './status';
import type { IRenderServices } from './views';

/** The plugin id; its settings schema (menus, toolbar button) is `schema/plugin.json`. */
const PLUGIN_ID = 'bookstore-jupyterlab:plugin';

/** The commands, also used by the File menu and the notebook toolbar (schema/plugin.json). */
namespace CommandIDs {
  export const publish = 'bookstore:publish';
  export const clone = 'bookstore:clone';
  export const showHistory = 'bookstore:show-history';
  export const showCatalog = 'bookstore:show-catalog';
  export const run = 'bookstore:run';
  export const showRuns = 'bookstore:show-runs';
  export const saveNamedVersion = 'bookstore:save-named-version';
}

/** How long to wait at most for a save to be archived before the history reloads, in ms. */
const ARCHIVE_WAIT_MS = 5_000;

const plugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'Publish, history with diffs, the published catalog, clone and archive status.',
  autoStart: true,
  requires: [INotebookTracker, IRenderMimeRegistry, IEditorServices, IDocumentManager],
  optional: [ICommandPalette, IStatusBar, ILayoutRestorer, IStateDB, IEditorLanguageRegistry],
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    rendermime: IRenderMimeRegistry,
    editorServices: IEditorServices,
    docManager: IDocumentManager,
    palette: ICommandPalette | null,
    statusBar: IStatusBar | null,
    restorer: ILayoutRestorer | null,
    state: IStateDB | null,
    languages: IEditorLanguageRegistry | null
  ) => {
    const api = new BookstoreAPI(app.serviceManager.serverSettings);
    void api
      .info()
      .then(info =>
        activateFeatures(app, api, info, {
          tracker,
          docManager,
          services: { rendermime, editorServices, languages: languages ?? undefined },
          palette,
          statusBar,
          restorer,
          state
        })
      )
      .catch(error => {
        // The UI stays off. A 404: no bookstore server extension here, nothing to say.
        if (error instanceof BookstoreError && error.status === 404) {
          console.warn('bookstore: no server extension here; its UI stays off.');
          return;
        }
        notifyError('Starting bookstore', error);
      });
  }
};

interface IFeatureDeps {
  tracker: INotebookTracker;
  docManager: IDocumentManager;
  services: IRenderServices;
  palette: ICommandPalette | null;
  statusBar: IStatusBar | null;
  restorer: ILayoutRestorer | null;
  state: IStateDB | null;
}

/** Add what the server supports: commands, panels and the status item. */
function activateFeatures(
  app: JupyterFrontEnd,
  api: BookstoreAPI,
  info: BookstoreInfo,
  deps: IFeatureDeps
): void {
  const { tracker, docManager, palette, statusBar, restorer } = deps;
  // A store that is down (or misconfigured) turns every flag off: show the panels anyway,
  // so they say what is wrong; a flag that is off on a working store means "turned off".
  const storeDown = !info.store.usable;
  const features = Object.fromEntries(
    Object.entries(info.features).map(([flag, on]) => [flag, on || storeDown])
  ) as BookstoreInfo['features'];
  const actions = new BookstoreActions(app, api, docManager, deps.services);
  const currentNotebook = (): NotebookPanel | null => tracker.currentWidget;
  const publishedPaths = new PublishedPaths(deps.state);
  startLiveTimes();

  let catalog: CatalogPanel | null = null;
  let history: HistoryPanel | null = null;
  let status: ArchiveStatusItem | null = null;
  // After a publish or unpublish.
  actions.onChanged = () => {
    catalog?.refresh();
    history?.refresh();
  };

  app.commands.addCommand(CommandIDs.publish, {
    label: 'Publish notebook',
    caption: 'Publish this notebook for others to clone',
    icon: shareIcon,
    isEnabled: () => features.publish_valid && currentNotebook() !== null,
    execute: async () => {
      const panel = currentNotebook();
      if (panel) {
        await publishNotebook(panel, api, app.serviceManager.contents, actions, publishedPaths);
      }
    }
  });
  app.commands.addCommand(CommandIDs.clone, {
    label: 'Clone from bookstore…',
    caption: 'Clone a stored notebook (any version) into your workspace',
    isEnabled: () => features.s3_clone_valid,
    execute: () => cloneFromStore(api, docManager, info.store.bucket)
  });

  // Save + name in one step: needs saves to become versions.
  const namedVersions = features.history_valid && info.archive.enabled;
  app.commands.addCommand(CommandIDs.saveNamedVersion, {
    label: args => (args.toolbar ? '' : 'Save a named version…'),
    caption: 'Save the notebook and name the version it becomes (named versions are never pruned)',
    icon: args => (args.toolbar ? tagIcon : undefined),
    isEnabled: () => namedVersions && currentNotebook() !== null,
    isVisible: () => namedVersions,
    execute: async () => {
      const panel = currentNotebook();
      if (panel) {
        await actions.saveNamedVersion(panel);
      }
    }
  });

  // The History panel: the active notebook's saves (history_valid), and the published
  // versions the catalog's History button shows (which need publishing only).
  if (features.history_valid || features.publish_valid) {
    const panel = new HistoryPanel(api, actions, {
      workspace: features.history_valid,
      publish: features.publish_valid
    });
    history = panel;
    actions.history = panel;
    app.shell.add(panel, 'right', { rank: 700 });
    restorer?.add(panel, panel.id);
    app.commands.addCommand(CommandIDs.showHistory, {
      label: 'Show notebook history',
      caption: features.history_valid
        ? 'The saved versions of the current notebook'
        : 'The versions of a published notebook (History in the catalog)',
      icon: historyIcon,
      execute: () => app.shell.activateById(panel.id)
    });
  }
  if (history && features.history_valid) {
    const panel = history;
    const follow = () => {
      const notebook = currentNotebook();
      panel.showTarget(notebook ? { area: 'workspace', path: notebook.context.path } : null);
    };
    tracker.currentChanged.connect(follow);
    follow();
  }

  if (features.publish_valid) {
    catalog = new CatalogPanel(api, actions);
    app.shell.add(catalog, 'left', { rank: 600 });
    restorer?.add(catalog, catalog.id);
    app.commands.addCommand(CommandIDs.showCatalog, {
      label: 'Show published notebooks',
      caption: 'The catalog of published notebooks',
      icon: bookstoreIcon,
      execute: () => app.shell.activateById(catalog!.id)
    });
  }

  if (features.runs_valid) {
    const runActions = new RunActions(app, api, docManager, actions, currentNotebook);
    const panel = new RunsPanel(api, runActions);
    runActions.panel = panel;
    app.shell.add(panel, 'right', { rank: 710 });
    restorer?.add(panel, panel.id);
    app.commands.addCommand(CommandIDs.run, {
      label: args => (args.toolbar ? 'Run / Schedule' : 'Run or schedule notebook…'),
      caption: 'Run this notebook’s saved version now or on a schedule, with parameters',
      icon: args => (args.toolbar ? runsIcon : undefined),
      isEnabled: () => currentNotebook() !== null,
      execute: () => runActions.newRun('now')
    });
    app.commands.addCommand(CommandIDs.showRuns, {
      label: 'Show notebook runs',
      caption: 'The runs and schedules of the current notebook, or all of yours',
      icon: runsIcon,
      execute: () => app.shell.activateById(panel.id)
    });
    const follow = () => panel.showNotebook(currentNotebook()?.context.path ?? null);
    tracker.currentChanged.connect(follow);
    tracker.widgetAdded.connect((_, notebook) => notebook.context.pathChanged.connect(follow));
    tracker.forEach(notebook => notebook.context.pathChanged.connect(follow));
    follow();
  }

  if (statusBar && info.archive.enabled) {
    status = new ArchiveStatusItem(api);
    statusBar.registerStatusItem('bookstore:archive-status', {
      item: status,
      align: 'left',
      rank: 20
    });
  }

  // After every save (when saves are archived): wait briefly for it to be archived,
  // showing each state in the status bar, then reload the History panel if it shows that
  // notebook (a hidden panel reloads when shown).
  const showsHistoryOf = (path: string) =>
    !!history?.isVisible && history.target?.area === 'workspace' && history.target.path === path;
  const afterSave = async (panel: NotebookPanel) => {
    if (!info.archive.enabled || (!status && !showsHistoryOf(panel.context.path))) {
      return;
    }
    await waitForArchive(api, state => status?.showStatus(state));
    if (showsHistoryOf(panel.context.path)) {
      history!.refresh();
    }
  };
  const watch = (panel: NotebookPanel) => {
    panel.context.saveState.connect((_context, state) => {
      if (state === 'completed') {
        void afterSave(panel).catch(error => notifyError('Refreshing the history', error));
      }
    });
    panel.context.pathChanged.connect(() => {
      if (panel === currentNotebook() && history && features.history_valid) {
        history.showTarget({ area: 'workspace', path: panel.context.path });
      }
    });
  };
  // Notebooks opened before the server answered `info()` too.
  tracker.forEach(watch);
  tracker.widgetAdded.connect((_, panel) => watch(panel));

  if (palette) {
    const category = 'Bookstore';
    for (const command of [
      CommandIDs.publish,
      CommandIDs.clone,
      CommandIDs.showHistory,
      CommandIDs.showCatalog,
      CommandIDs.run,
      CommandIDs.showRuns,
      CommandIDs.saveNamedVersion
    ]) {
      if (app.commands.hasCommand(command)) {
        palette.addItem({ command, category });
      }
    }
  }
}

/** Poll the archiver (each answer to `seen`) until nothing is pending, or for at most
 * {@link ARCHIVE_WAIT_MS}. */
async function waitForArchive(
  api: BookstoreAPI,
  seen: (status: ArchiveStatus) => void
): Promise<void> {
  const deadline = Date.now() + ARCHIVE_WAIT_MS;
  for (;;) {
    const status = await api.archiveStatus();
    seen(status);
    if (!status.enabled || status.state !== 'pending' || Date.now() >= deadline) {
      return;
    }
    await new Promise(resolve => window.setTimeout(resolve, 200));
  }
}

export default plugin;
