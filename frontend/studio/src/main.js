// The studio's page: wires the access key, the editor and the tool panes together.
import "./style.css";
import { Api, keepToken, takeToken } from "./api.js";
import { $, fill } from "./dom.js";
import { ImpactPane } from "./impact.js";
import { Saver } from "./save.js";
import { Studio } from "./studio.js";
import { tabs } from "./tabs.js";
import { TestsPane } from "./tests.js";
import { TryPane } from "./try.js";

const status = $("#status");
let statusTimer = null;
/** say something in the status line, which screen readers announce */
function announce(text) {
  clearTimeout(statusTimer);
  fill(status, text);
  statusTimer = setTimeout(() => fill(status, ""), 15000);
}

const access = $("#access");
function refused(message) {
  access.hidden = false;
  $("#layout").hidden = true; // nothing of the set is shown without the key, and nothing there can be used
  $(".top-actions").hidden = true;
  fill($("#access-message"), message);
  $("#access-key").focus();
}

async function start(token) {
  const api = new Api(token, () =>
    refused("The access key was refused. Open the address pdp printed when it started (it ends in #token=...), or paste the key here."));
  const showTab = tabs($("#tablist"));
  const studio = new Studio(api, {
    editor: $("#editor"),
    fileList: $("#file-list"),
    fileTitle: $("#file-title"),
    fileChanged: $("#file-changed"),
    problemsSummary: $("#problems-summary"),
    problemsList: $("#problems-list"),
    problemCount: $("#problem-count"),
    setName: $("#set-name"),
  }, announce);
  const tryPane = new TryPane(studio, {
    form: $("#try-form"), examples: $("#example-select"), request: $("#request-text"), events: $("#events-text"), result: $("#decision"),
  }, showTab);
  new TestsPane(studio, { button: $("#tests-button"), result: $("#tests-result") });
  new ImpactPane(studio, {
    diffForm: $("#diff-form"), diffResult: $("#diff-result"), queryForm: $("#query-form"), queryResult: $("#query-result"),
    decision: $("#query-decision"), action: $("#query-action"), purpose: $("#query-purpose"),
    categories: $("#query-categories"), where: $("#query-where"),
  }, tryPane);
  const saver = new Saver(studio, { button: $("#save-button") }, announce, showTab);
  $("#check-button").addEventListener("click", () => {
    showTab("tab-problems");
    studio.check();
  });

  document.addEventListener("keydown", (event) => {
    const mod = event.ctrlKey || event.metaKey;
    if (mod && !event.shiftKey && !event.altKey && event.key.toLowerCase() === "s") {
      event.preventDefault();
      saver.save();
    } else if (mod && event.key === "Enter") {
      event.preventDefault();
      showTab("tab-try");
      tryPane.decide();
    }
  });
  window.addEventListener("beforeunload", (event) => {
    if (Object.keys(studio.edits()).length) event.preventDefault();
  });

  try {
    await studio.load();
  } catch (error) {
    if (error.status !== 401) announce(`The policy set could not be read: ${error.message}`);
    return;
  }
  await tryPane.loadExamples();
  document.body.dataset.ready = "true"; // the files and examples are in (the browser tests wait for it)
}

$("#access-form").addEventListener("submit", (event) => {
  event.preventDefault();
  const key = $("#access-key").value.trim();
  if (!key) return;
  keepToken(key);
  window.location.reload();
});

const token = takeToken();
if (!token) {
  refused("No access key was given. Open the address pdp printed when it started: it ends in #token=... (the key is never sent in the address itself).");
} else {
  start(token);
}
