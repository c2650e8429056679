// The pdp extension: starts `pdp lsp` (the command in the `pdp.command` setting) for .pdp files and the YAML
// files of a policy set (its vocabulary, registers and tests), whose diagnostics the server publishes too.
"use strict";

const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const [command, ...args] = vscode.workspace.getConfiguration("pdp").get("command", ["pdp", "lsp"]);
  const serverOptions = { command, args, transport: TransportKind.stdio };
  const clientOptions = {
    documentSelector: [
      { scheme: "file", language: "pdp" },
      { scheme: "file", pattern: "**/vocabulary.yaml" },
      { scheme: "file", pattern: "**/data/*.{yaml,yml}" },
      { scheme: "file", pattern: "**/tests/*.{yaml,yml}" },
    ],
    // a file changed outside the editor (a `git checkout`) is checked again with its set
    synchronize: {
      fileEvents: vscode.workspace.createFileSystemWatcher("**/{*.pdp,vocabulary.yaml,data/*.yaml,data/*.yml}"),
    },
  };
  client = new LanguageClient("pdp", "pdp language server", serverOptions, clientOptions);
  context.subscriptions.push({ dispose: () => client && client.stop() });
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
