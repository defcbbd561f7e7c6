#!/usr/bin/env bash
# Re-fetches the playground's third-party files from the npm registry at the pinned versions,
# with their licences, into vendor/. The files are committed so that `cargo build` needs no
# network; run this only to change a version (and update the versions in index.html's comment).
set -euo pipefail
cd "$(dirname "$0")"
GRAPHIQL=3.9.0
REACT=18.3.1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "graphiql@$GRAPHIQL" "react@$REACT" "react-dom@$REACT" >/dev/null)
rm -rf vendor && mkdir vendor
for pkg in "graphiql-$GRAPHIQL" "react-$REACT" "react-dom-$REACT"; do
  mkdir "$work/$pkg" && tar xzf "$work/$pkg.tgz" -C "$work/$pkg"
  cp "$work/$pkg/package/LICENSE" "vendor/LICENSE.${pkg%-*}"
done
cp "$work/graphiql-$GRAPHIQL/package/graphiql.min.js" "$work/graphiql-$GRAPHIQL/package/graphiql.min.css" vendor/
cp "$work/react-$REACT/package/umd/react.production.min.js" vendor/
cp "$work/react-dom-$REACT/package/umd/react-dom.production.min.js" vendor/
# The source-map comments point at files not shipped; browsers would ask for them.
sed -i '/^\/\/# sourceMappingURL=/d' vendor/*.js
echo "graphiql $GRAPHIQL, react $REACT, react-dom $REACT" > vendor/VERSIONS
