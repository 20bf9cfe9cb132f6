"""The canvas: a QGraphicsScene that draws the document's NetworkSpec, and its view."""
