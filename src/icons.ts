/**
 * Bookstore's icons: three books on a shelf (the catalog), a play button (runs).
 */
import { LabIcon } from '@jupyterlab/ui-components';

const BOOKS_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <rect x="3" y="4" width="4" height="15" rx="0.5"/>
    <rect x="8" y="6" width="4" height="13" rx="0.5"/>
    <rect x="13.2" y="5" width="4" height="14" rx="0.5" transform="rotate(-12 15.2 12)"/>
    <rect x="2" y="20" width="20" height="1.6" rx="0.5"/>
  </g>
</svg>`;

/** The catalog's icon. */
export const bookstoreIcon = new LabIcon({ name: 'bookstore:books', svgstr: BOOKS_SVG });

const RUNS_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M12 2a10 10 0 1 0 0 20 10 10 0 0 0 0-20zm0 2a8 8 0 1 1 0 16 8 8 0 0 1 0-16z"/>
    <path d="M10 7.5v9l7-4.5z"/>
  </g>
</svg>`;

/** The Runs panel's and the Run / Schedule command's icon: a play button in a circle. */
export const runsIcon = new LabIcon({ name: 'bookstore:runs', svgstr: RUNS_SVG });
