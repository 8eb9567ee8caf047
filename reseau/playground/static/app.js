// The page: settings in, frames out. Every number comes from the server (reseau's MLP); this file
// only draws. The token of the page's URL goes with every request.
const token = new URLSearchParams(location.search).get("token");
const api = (path, body) =>
  fetch(`${path}?token=${encodeURIComponent(token)}${path === "/api/start" ? "&play=0" : ""}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  }).then((r) => r.json());

const FIELDS = [
  ["data", "select", "data"], ["n", "number", "points"], ["noise", "number", "noise"],
  ["train_share", "number", "training share"], ["seed", "number", "seed"], ["layers", "text", "hidden units"],
  ["activation", "text", "activation(s): tanh or tanh,relu"], ["output", "select", "output head"], ["init", "select", "init"],
  ["normalize", "select", "min-max scaling"], ["dropout", "number", "dropout"], ["l1", "number", "L1"],
  ["l2", "number", "L2"], ["batch", "text", "batch (full, 1, n)"], ["optimizer", "select", "optimiser"],
  ["lr", "number", "learning rate"], ["schedule", "select", "schedule"], ["epochs", "number", "epochs"],
];
const history = { loss: [], val: [] };

function control(name, kind, label, choices, value) {
  const box = document.createElement("label");
  box.textContent = label;
  const input = document.createElement(kind === "select" ? "select" : "input");
  input.id = `set-${name}`;
  if (kind === "select") {
    for (const c of choices) input.add(new Option(c, c));
  } else {
    input.type = kind;
    if (kind === "number") input.step = "any";
  }
  input.value = Array.isArray(value) ? value.join(",") : value;
  box.appendChild(input);
  return box;
}

function settings() {
  const s = {};
  for (const [name, kind] of FIELDS) {
    const v = document.getElementById(`set-${name}`).value;
    if (name === "layers") s[name] = v.split(",").filter((x) => x.trim()).map(Number);
    else if (name === "batch") s[name] = v === "full" ? "full" : Number(v);
    else s[name] = kind === "number" ? Number(v) : v;
  }
  return s;
}

function rgb(v) {
  // a probability (or a class index scaled to [0, 1]) as blue → white → orange
  const t = Math.max(0, Math.min(1, v));
  const a = [33, 102, 172], b = [245, 245, 245], c = [230, 120, 30];
  const [p, q, u] = t < 0.5 ? [a, b, t * 2] : [b, c, (t - 0.5) * 2];
  return p.map((x, i) => Math.round(x + (q[i] - x) * u));
}
const color = (v) => `rgb(${rgb(v).join(",")})`;
const lattice = document.createElement("canvas");

function drawBoundary(f, cv = document.getElementById("boundary"), points = f) {
  const g = cv.getContext("2d");
  if (!f.grid) return;
  // the lattice as one small image, scaled up in one draw (thousands of rectangles were slow)
  const n = Math.round(Math.sqrt(f.grid.length));
  lattice.width = lattice.height = n;
  const lg = lattice.getContext("2d"), img = lg.createImageData(n, n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      const [r, gr, b] = rgb(f.grid[i * n + j]), k = ((n - 1 - i) * n + j) * 4;
      img.data[k] = r;
      img.data[k + 1] = gr;
      img.data[k + 2] = b;
      img.data[k + 3] = 255;
    }
  lg.putImageData(img, 0, 0);
  g.imageSmoothingEnabled = false;
  g.drawImage(lattice, 0, 0, cv.width, cv.height);
  const [x0, x1, y0, y1] = f.extent, radius = cv.width < 200 ? 1.5 : 3;
  points.points.forEach(([x, y], k) => {
    const px = ((x - x0) / (x1 - x0)) * cv.width, py = cv.height - ((y - y0) / (y1 - y0)) * cv.height;
    g.beginPath();
    g.arc(px, py, radius, 0, 2 * Math.PI);
    g.fillStyle = color(points.labels[k] / Math.max(1, points.classes - 1));
    g.strokeStyle = "#222";
    if (k < points.n_train) g.fill();
    g.stroke();
  });
}

function drawCurve(g, values, top, colour, width, height) {
  g.strokeStyle = colour;
  g.beginPath();
  values.forEach((v, k) => {
    const x = (k / Math.max(1, values.length - 1)) * width, y = height - (v / top) * height;
    k ? g.lineTo(x, y) : g.moveTo(x, y);
  });
  g.stroke();
}

function drawLosses() {
  const cv = document.getElementById("losses"), g = cv.getContext("2d");
  g.clearRect(0, 0, cv.width, cv.height);
  const top = Math.max(1e-9, ...history.loss, ...history.val);
  drawCurve(g, history.loss, top, "#2166ac", cv.width, cv.height);
  drawCurve(g, history.val, top, "#e6781e", cv.width, cv.height);
}

function drawGrads(norms) {
  const cv = document.getElementById("grads"), g = cv.getContext("2d");
  g.clearRect(0, 0, cv.width, cv.height);
  if (!norms || !norms.length) return;
  const logs = norms.map((v) => Math.log10(Math.max(v, 1e-12))), low = Math.min(...logs) - 1, high = Math.max(...logs);
  const w = cv.width / norms.length;
  logs.forEach((v, l) => {
    const h = ((v - low) / Math.max(1e-9, high - low)) * (cv.height - 20);
    g.fillStyle = "#4d9221";
    g.fillRect(l * w + 4, cv.height - h, w - 8, h);
    g.fillStyle = "#222";
    g.fillText(`${l + 1}`, l * w + w / 2 - 3, 12);
  });
}

let lastEpoch = -1;
function show(f) {
  document.getElementById("epoch").textContent = f.epoch;
  document.getElementById("state").textContent = f.state;
  document.getElementById("error").textContent = f.error || "";
  if (f.loss !== undefined && f.epoch !== lastEpoch) {
    history.loss.push(f.loss);
    history.val.push(f.val_loss);
    document.getElementById("loss").textContent = f.loss.toPrecision(6);
    document.getElementById("val-loss").textContent = f.val_loss.toPrecision(6);
  }
  lastEpoch = f.epoch;
  drawBoundary(f);
  drawLosses();
  drawGrads(f.grad_norms);
}

async function restart() {
  history.loss = [];
  history.val = [];
  lastEpoch = -1;
  const f = await api("/api/start", settings());
  if (f.error) document.getElementById("error").textContent = f.error;
  else show(f);
  document.body.dataset.runs = Number(document.body.dataset.runs || 0) + 1; // runs started from this page
  location.hash = new URLSearchParams(
    Object.entries(settings()).map(([k, v]) => [k, Array.isArray(v) ? v.join(",") : v])
  ).toString(); // the whole state in the URL: a link reopens this run
}

function fromHash(defaults) {
  // settings a link carries (#data=moons&layers=8,8&...) over the defaults
  const given = new URLSearchParams(location.hash.slice(1)), out = { ...defaults };
  for (const [k, v] of given) if (k in out) out[k] = k === "layers" ? v.split(",") : v;
  return out;
}

async function main() {
  const c = await api("/api/choices");
  const lists = {
    data: c.data, activation: c.activations, output: ["auto", "sigmoid", "softmax", "identity"], init: c.inits,
    normalize: ["minmax", "none"], optimizer: c.optimizers, schedule: ["none", "cosine"],
  };
  const box = document.getElementById("controls"), start = fromHash(c.defaults);
  for (const [name, kind, label] of FIELDS) box.appendChild(control(name, kind, label, lists[name], start[name]));
  const choices = document.getElementById("race-choices");
  for (const name of c.optimizers) {
    const label = document.createElement("label");
    label.style.display = "inline-flex";
    label.innerHTML = `<input type="checkbox" value="${name}" ${["sgd", "momentum", "adam"].includes(name) ? "checked" : ""}> ${name}`;
    choices.appendChild(label);
  }
  document.getElementById("race").onclick = race;
  document.getElementById("upload").onclick = upload;
  document.getElementById("units").onclick = units;
  for (const [id, path] of [["get-model", "/api/model"], ["get-script", "/api/script"]])
    document.getElementById(id).href = `${path}?token=${encodeURIComponent(token)}`;
  document.getElementById("apply").onclick = restart;
  for (const name of ["play", "pause", "step"]) document.getElementById(name).onclick = () => api(`/api/${name}`, {});
  await restart();
  poll();
}

// ---- the user's own CSV: read by the server as `reseau train` reads files ------------------------
async function upload() {
  const file = document.getElementById("csv").files[0], state = document.getElementById("upload-state");
  if (!file) return;
  const q = new URLSearchParams({ token, name: file.name });
  for (const [key, id] of [["target", "csv-target"], ["x", "csv-x"], ["y", "csv-y"]]) {
    const v = document.getElementById(id).value.trim();
    if (v) q.set(key, v);
  }
  const r = await fetch(`/api/data?${q}`, { method: "POST", body: await file.arrayBuffer() });
  const answer = await r.json();
  if (answer.error) {
    state.textContent = answer.error;
    return;
  }
  state.textContent =
    `${answer.rows} rows; drawn on ${answer.view.join(" × ")}, trained on all ${answer.columns.length} columns` +
    answer.notes.map((note) => `; note: ${note}`).join("");
  const data = document.getElementById("set-data");
  if (![...data.options].some((o) => o.value === "file")) data.add(new Option("file", "file"));
  data.value = "file";
  await restart();
}

// ---- inside the network: each unit's map, each layer's weights ---------------------------------
function image(values, rows, cols, size, paint) {
  const cv = document.createElement("canvas"), small = document.createElement("canvas");
  small.width = cols;
  small.height = rows;
  const g = small.getContext("2d"), img = g.createImageData(cols, rows);
  values.forEach((v, k) => {
    const [r, gr, b] = paint(v), i = ((rows - 1 - Math.floor(k / cols)) * cols + (k % cols)) * 4;
    img.data.set([r, gr, b, 255], i);
  });
  g.putImageData(img, 0, 0);
  cv.width = size[0];
  cv.height = size[1];
  const out = cv.getContext("2d");
  out.imageSmoothingEnabled = false;
  out.drawImage(small, 0, 0, cv.width, cv.height);
  return cv;
}

async function units() {
  const u = await api("/api/units"), view = document.getElementById("units-view");
  view.innerHTML = "";
  u.maps.forEach((layer, l) => {
    const row = document.createElement("div");
    row.className = "unit-layer";
    row.textContent = `layer ${l + 1}: `;
    const n = Math.round(Math.sqrt(layer[0].length));
    for (const values of layer) row.appendChild(image(values, n, n, [56, 56], (v) => rgb(1 - v)));
    view.appendChild(row);
  });
  u.weights.forEach((W, l) => {
    const top = Math.max(1e-9, ...W.flat().map(Math.abs)), flat = W.slice().reverse().flat();
    const paint = (w) => rgb(0.5 - (0.5 * w) / top);  // positive: blue, negative: orange, size: depth
    const box = document.createElement("div");
    box.className = "weights";
    box.textContent = `W${l + 1} (${W.length} × ${W[0].length}): `;
    box.appendChild(image(flat, W.length, W[0].length, [Math.max(40, 12 * W[0].length), 12 * W.length], paint));
    view.appendChild(box);
  });
}

// ---- the optimiser race ----------------------------------------------------------------------
const RACE_COLOURS = ["#2166ac", "#e6781e", "#4d9221", "#c51b7d", "#762a83", "#8c510a", "#01665e", "#b2182b"];
const raceCurves = {};
let racing = false;

async function race() {
  const names = [...document.querySelectorAll("#race-choices input:checked")].map((box) => box.value);
  for (const k of Object.keys(raceCurves)) delete raceCurves[k];
  const views = document.getElementById("race-views");
  views.innerHTML = "";
  for (const name of names) {
    const cv = document.createElement("canvas");
    cv.width = cv.height = 150;
    cv.id = `race-${name}`;
    cv.title = name;
    views.appendChild(cv);
    raceCurves[name] = [];
  }
  const f = await api("/api/race", { settings: settings(), optimizers: names });
  document.getElementById("race-state").textContent = f.error || "racing";
  racing = !f.error;
}

function showRace(frames) {
  const names = Object.keys(frames), first = frames[names[0]];
  names.forEach((name, k) => {
    const f = frames[name], curve = raceCurves[name];
    if (!curve) return;
    if (f.loss !== undefined && curve.length < f.epoch) curve.push(f.loss);
    const cv = document.getElementById(`race-${name}`);
    if (cv && f.grid) drawBoundary(f, cv, first);
  });
  const cv = document.getElementById("race-losses"), g = cv.getContext("2d");
  g.clearRect(0, 0, cv.width, cv.height);
  const top = Math.max(1e-9, ...Object.values(raceCurves).flat());
  names.forEach((name, k) => drawCurve(g, raceCurves[name] || [], top, RACE_COLOURS[k % 8], cv.width, cv.height));
  document.getElementById("race-legend").innerHTML = names
    .map((name, k) => `<span style="color:${RACE_COLOURS[k % 8]}">■ ${name} ${frames[name].loss?.toPrecision(4) ?? ""}</span>`)
    .join(" &nbsp; ");
  const done = names.every((n) => ["done", "error"].includes(frames[n].state));
  if (done) {
    racing = false;
    document.getElementById("race-state").textContent = "done";
  }
}

async function poll() {
  // fetch the latest frame and draw it, as fast as the two allow (no request waits on training:
  // the server hands over the frame it has); the redraw count is kept for the browser test
  for (;;) {
    show(await api("/api/frame"));
    if (racing) showRace(await api("/api/race/frames"));
    document.body.dataset.redraws = Number(document.body.dataset.redraws || 0) + 1;
    await new Promise((r) => setTimeout(r, 10));
  }
}
main();
