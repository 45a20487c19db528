/**
 * Plotly charts follow JupyterLab's theme. Figures come from Python with plotly's light default
 * template; in a dark Lab theme every chart drawn in the page (the plotly MIME renderer's and the
 * FigureWidgets of the explorers alike) gets a template derived from the theme's own colours
 * (transparent paper, the theme's panel colour behind the plot, its font and border colours for
 * text and grid), keeping the figure's colourway and trace defaults; back in a light theme each
 * chart gets its own template again. Only the template changes: colours a figure sets itself win.
 *
 * This is a theme hook in the page, not in the figures: nothing is saved into notebooks, and
 * reports and static exports keep the figure as Python made it.
 */

type Json = Record<string, unknown>;

interface IGraphDiv extends HTMLElement {
  layout?: Json & { template?: Json };
  _fullLayout?: Json;
}

interface IPlotly {
  relayout(gd: HTMLElement, update: Json): Promise<unknown>;
}

const originals = new WeakMap<IGraphDiv, Json>();

/** Whether the current JupyterLab theme is dark. */
export function isDark(): boolean {
  return document.body.dataset.jpThemeLight === 'false';
}

function cssVar(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

/** The layout a dark theme asks for, from JupyterLab's CSS variables. */
export function themeLayout(): Json {
  const text = cssVar('--jp-ui-font-color1', '#e0e0e0');
  const grid = cssVar('--jp-border-color2', '#424242');
  const line = cssVar('--jp-border-color1', '#616161');
  const axis = { gridcolor: grid, linecolor: line, zerolinecolor: line, tickcolor: line };
  return {
    paper_bgcolor: 'rgba(0,0,0,0)',
    plot_bgcolor: cssVar('--jp-layout-color1', '#212121'),
    font: { color: text },
    legend: { bgcolor: 'rgba(0,0,0,0)' },
    xaxis: axis,
    yaxis: axis,
    coloraxis: { colorbar: { outlinecolor: line, tickcolor: line } }
  };
}

/** ``template`` with the theme's layout over its own (its colourway and trace defaults kept). */
export function themedTemplate(template: Json, layout: Json): Json {
  const own = (template.layout ?? {}) as Json;
  const merged: Json = { ...own };
  for (const [key, value] of Object.entries(layout)) {
    const base = own[key];
    merged[key] =
      value && typeof value === 'object' && base && typeof base === 'object'
        ? { ...(base as Json), ...(value as Json) }
        : value;
  }
  return { ...template, layout: merged };
}

function wears(gd: IGraphDiv, layout: Json): boolean {
  const own = (gd.layout?.template?.layout ?? {}) as Json;
  return (
    own.paper_bgcolor === layout.paper_bgcolor &&
    own.plot_bgcolor === layout.plot_bgcolor &&
    (own.font as Json | undefined)?.color === (layout.font as Json).color
  );
}

/** Give every drawn chart in the page the template of the current theme. */
export function applyTheme(root: ParentNode = document): void {
  const plotly = (window as unknown as { Plotly?: IPlotly }).Plotly;
  if (!plotly) {
    return; // no chart has been drawn yet: plotly.js sets window.Plotly when it loads
  }
  const dark = isDark();
  const layout = themeLayout();
  for (const gd of Array.from(root.querySelectorAll<IGraphDiv>('.js-plotly-plot'))) {
    if (!gd._fullLayout || !gd.layout?.template) {
      continue; // not drawn yet, or a FigureWidget whose template Python has not sent yet: the next scan sees it
    }
    let update: Json | null = null;
    if (dark && !wears(gd, layout)) {
      if (!(originals.has(gd) && isThemed(gd))) {
        originals.set(gd, gd.layout.template); // (re)drawn with its own template
      }
      update = { template: themedTemplate(originals.get(gd)!, layout) };
    } else if (!dark && originals.has(gd) && isThemed(gd)) {
      update = { template: originals.get(gd)! };
      originals.delete(gd);
    }
    if (update) {
      plotly.relayout(gd, update).catch(error => console.warn('workbench-lab: theme not applied', error));
    }
  }
}

/** Whether ``gd`` wears a template of ours (perhaps of a dark theme the user has since left). */
function isThemed(gd: IGraphDiv): boolean {
  return ((gd.layout?.template?.layout ?? {}) as Json).paper_bgcolor === 'rgba(0,0,0,0)';
}

/** Keep charts in step with the theme: on every theme switch and whenever a chart is drawn. */
export function followTheme(): void {
  let pending = 0;
  const schedule = (): void => {
    if (!pending) {
      pending = window.setTimeout(() => {
        pending = 0;
        applyTheme();
      }, 150);
    }
  };
  new MutationObserver(schedule).observe(document.body, { childList: true, subtree: true });
  new MutationObserver(schedule).observe(document.body, {
    attributes: true,
    attributeFilter: ['data-jp-theme-light', 'data-jp-theme-name']
  });
  schedule();
}
