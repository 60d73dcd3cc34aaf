#!/usr/bin/env node
// Runs the built command. The bin lives outside dist so that installing the
// workspace links it before the first build.
import '../dist/main.js';
