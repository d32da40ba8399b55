// The SPARQL editor of therapy-kg: YASGUI (vendored under ./yasgui), set up so that nothing leaves this server.
// Its configuration (endpoint, prefixes, example queries) is the JSON in #tkg-editor-config, written by the server.
(function () {
  "use strict";
  var config = JSON.parse(document.getElementById("tkg-editor-config").textContent);
  var prefixes = Object.keys(config.prefixes)
    .sort()
    .map(function (name) { return "PREFIX " + name + ": <" + config.prefixes[name] + ">"; })
    .join("\n");
  var yasgui = new Yasgui(document.getElementById("yasgui"), {
    requestConfig: { endpoint: config.endpoint, method: "POST" },
    copyEndpointOnNewTab: true,
    // The catalogue offers this endpoint only (YASGUI's default lists public endpoints elsewhere).
    endpointCatalogueOptions: { getData: function () { return [{ endpoint: config.endpoint }]; }, keys: [] },
    persistenceId: null, // each visit starts from the examples; nothing is kept in the browser
    tabName: "Query",
    yasqe: {
      value: prefixes + "\n\nSELECT ?term ?label WHERE {\n  ?term rdfs:label ?label\n} LIMIT 20\n",
      // "classes" and "properties" would ask lov.linkeddata.es; prefixes and variables are completed here
      autocompleters: ["prefixes", "variables"],
    },
    yasr: { prefixes: config.prefixes },
  });
  config.examples.forEach(function (example) {
    yasgui.addTab(false, {
      name: example.name,
      yasqe: { value: example.query },
      requestConfig: { endpoint: config.endpoint, method: "POST" },
    });
  });
})();
