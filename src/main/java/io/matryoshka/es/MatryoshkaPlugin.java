package io.matryoshka.es;

import org.elasticsearch.plugins.Plugin;

/**
 * Entry point named by {@code classname} in plugin-descriptor.properties. Minimal for now so the plugin
 * can be packaged, installed and started; it will register the mapper, query and REST handlers.
 */
public class MatryoshkaPlugin extends Plugin {
}
