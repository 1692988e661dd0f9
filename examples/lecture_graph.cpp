// The computation graph from the lectures: y1 = 4·x1 + x2² + 3·x3 and y2 = x2·x3 + 3·x3, where
// h = 3·x3 is computed once and used twice. Backpropagating E = y1 + y2 gives dE/dx for each
// input; h's gradient is the sum over both paths (dE/dh = 1 + 1 = 2).
// Also draws the graph (lecture_graph.dot, and .svg when Graphviz is installed) and prints the
// step-by-step backward trace.
#include <sinapsis/sinapsis.h>

#include <iostream>

int main() {
  // The recorder keeps every intermediate value (and, during backward, every gradient) so the
  // drawing can show them; the trace listens to the backward pass step by step.
  sn::viz::GraphRecorder recorder;
  auto x1 = sn::tensor(1.0, {.requires_grad = true}).set_name("x1");
  auto x2 = sn::tensor(2.0, {.requires_grad = true}).set_name("x2");
  auto x3 = sn::tensor(2.0, {.requires_grad = true}).set_name("x3");
  auto h = (3 * x3).set_name("h");  // shared sub-graph
  auto y1 = (4 * x1 + x2 * x2 + h).set_name("y1");
  auto y2 = (x2 * x3 + h).set_name("y2");
  auto E = (y1 + y2).set_name("E");
  h.retain_grad();
  sn::viz::BackpropTrace trace({.recorder = &recorder});
  E.backward();
  trace.stop();
  recorder.stop();

  std::cout << "y1 = 4*x1 + x2^2 + 3*x3 = " << y1.item() << "\n";
  std::cout << "y2 = x2*x3 + 3*x3       = " << y2.item() << "\n";
  std::cout << "E  = y1 + y2            = " << E.item() << "\n\n";
  std::cout << "dE/dx1 = 4                 = " << x1.grad().item() << "\n";
  std::cout << "dE/dx2 = 2*x2 + x3         = " << x2.grad().item() << "\n";
  std::cout << "dE/dx3 = 3 + x2 + 3        = " << x3.grad().item() << "\n";
  std::cout << "dE/dh  = 1 + 1 (two paths) = " << h.grad().item() << "\n\n";

  std::cout << trace.text() << "\n";

  const std::string dot = sn::viz::to_dot(E, {.recorder = &recorder,
                                              .title = "E = y1 + y2 (values and gradients)",
                                              .show_backward = true});
  if (sn::viz::render_svg(dot, "lecture_graph.svg"))
    std::cout << "wrote lecture_graph.dot and lecture_graph.svg\n";
  else
    std::cout << "wrote lecture_graph.dot (install Graphviz to render lecture_graph.svg)\n";
  sn::viz::write_file("lecture_graph_trace.md", trace.markdown());
  std::cout << "wrote lecture_graph_trace.md\n";
  return 0;
}
