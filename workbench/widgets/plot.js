/* global document, URL, Blob, Response, DecompressionStream, setTimeout, clearTimeout */
// PlotWidget's front end (an anywidget module): draws the figure JSON of the `figure` trait with
// plotly.js and sends clicks back to Python. plotly.js is asked of the kernel once per page (one
// custom message; it comes back gzipped as a buffer) unless the page already has window.Plotly.

const LOADING = '__workbenchPlotlyLoading';

function loadPlotly(model) {
  if (globalThis.Plotly) {
    return Promise.resolve(globalThis.Plotly);
  }
  if (!globalThis[LOADING]) {
    globalThis[LOADING] = new Promise((resolve, reject) => {
      const onMessage = (msg, buffers) => {
        if (!msg || msg.type !== 'plotly.js') {
          return;
        }
        model.off('msg:custom', onMessage);
        const unpacked = new Blob([buffers[0]]).stream().pipeThrough(new DecompressionStream('gzip'));
        new Response(unpacked, { headers: { 'Content-Type': 'text/javascript' } }).blob().then(code => {
          const script = document.createElement('script');
          script.src = URL.createObjectURL(code);
          script.onload = () => resolve(globalThis.Plotly);
          script.onerror = () => {
            globalThis[LOADING] = undefined;
            reject(new Error('plotly.js did not load'));
          };
          document.head.appendChild(script);
        }, reject);
      };
      model.on('msg:custom', onMessage);
      model.send({ type: 'plotly.js' });
    });
  }
  return globalThis[LOADING];
}

async function render({ model, el }) {
  const div = document.createElement('div');
  div.className = 'wb-plot';
  el.appendChild(div);
  // a notebook reopened without a kernel has no one to send plotly.js: say so instead of a blank area
  const waiting = setTimeout(() => {
    div.textContent = 'The chart needs a live Jupyter kernel (it sends plotly.js): run this cell.';
  }, 5000);
  const Plotly = await loadPlotly(model);
  clearTimeout(waiting);
  div.textContent = '';
  const draw = () => {
    const figure = model.get('figure');
    return Plotly.react(div, figure.data || [], figure.layout || {}, model.get('config'));
  };
  await draw();
  div.on('plotly_click', event => {
    const points = event.points.map(p => ({ trace: p.curveNumber, point: p.pointNumber }));
    model.send({ type: 'click', points });
  });
  model.on('change:figure', draw);
  return () => {
    model.off('change:figure', draw);
    Plotly.purge(div);
  };
}

export default { render };
