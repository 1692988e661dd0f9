// Graph export: the lecture graph's values, ops, edges and gradients in capture_graph and in
// the DOT text; what is known without a recorder; constants; the recorder scope; rendering.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>

#include <sinapsis/sinapsis.h>

#include "test_util.h"
#include "viz/xml_check.h"

namespace {
namespace viz = sn::viz;

struct Lecture {
  sn::Tensor x1, x2, x3, h, y1, y2, E;
  void build() {
    x1 = sn::tensor(1.0, {.requires_grad = true}).set_name("x1");
    x2 = sn::tensor(2.0, {.requires_grad = true}).set_name("x2");
    x3 = sn::tensor(2.0, {.requires_grad = true}).set_name("x3");
    h = (3 * x3).set_name("h");
    y1 = (4 * x1 + x2 * x2 + h).set_name("y1");
    y2 = (x2 * x3 + h).set_name("y2");
    E = (y1 + y2).set_name("E");
  }
};

double scalar(const sn::Tensor& t) {
  EXPECT_TRUE(t.defined());
  return t.defined() ? t.item() : NAN;
}

// "vA -> opB" edges and "opB -> vA" edges of a DOT text, solid ones only.
std::multiset<std::string> solid_edges(const std::string& dot) {
  std::multiset<std::string> out;
  std::regex edge(R"(^\s*((?:v|op)\d+) -> ((?:v|op)\d+)(.*);$)");
  std::istringstream in(dot);
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_match(line, m, edge) && m[3].str().find("dashed") == std::string::npos)
      out.insert(m[1].str() + "->" + m[2].str());
  }
  return out;
}
}  // namespace

TEST(Graph, LectureGraphWithRecorder) {
  Lecture g;
  viz::GraphRecorder rec;
  g.build();
  g.E.backward();
  rec.stop();
  EXPECT_EQ(rec.num_ops(), 8);
  viz::ComputationGraph cg = viz::capture_graph({g.E}, {.recorder = &rec});
  ASSERT_EQ(cg.values.size(), 11u);
  ASSERT_EQ(cg.ops.size(), 8u);
  std::map<std::string, int> op_count;
  for (const auto& op : cg.ops) ++op_count[op.name];
  EXPECT_EQ(op_count["AddBackward"], 4);
  EXPECT_EQ(op_count["MulBackward"], 4);

  struct Want {
    const char* label;
    double value, grad;
    viz::ValueKind kind;
  };
  for (Want w :
       {Want{"x1", 1, 4, viz::ValueKind::Leaf}, Want{"x2", 2, 6, viz::ValueKind::Leaf},
        Want{"x3", 2, 8, viz::ValueKind::Leaf}, Want{"h", 6, 2, viz::ValueKind::Intermediate},
        Want{"y1", 14, 1, viz::ValueKind::Intermediate},
        Want{"y2", 10, 1, viz::ValueKind::Intermediate},
        Want{"E", 24, 1, viz::ValueKind::Intermediate}}) {
    const viz::GraphValue* v = cg.find(w.label);
    ASSERT_NE(v, nullptr) << w.label;
    EXPECT_EQ(v->kind, w.kind) << w.label;
    EXPECT_DOUBLE_EQ(scalar(v->value), w.value) << w.label;
    EXPECT_DOUBLE_EQ(scalar(v->grad), w.grad) << w.label;
  }
  EXPECT_TRUE(cg.find("E")->is_root);
  // unnamed intermediates are numbered in the order they were computed: t1 = 4·x1, t2 = x2·x2,
  // t3 = t1 + t2, t4 = x2·x3
  for (auto [label, value] : {std::pair{"t1", 4.0}, {"t2", 4.0}, {"t3", 8.0}, {"t4", 4.0}}) {
    const viz::GraphValue* v = cg.find(label);
    ASSERT_NE(v, nullptr) << label;
    EXPECT_DOUBLE_EQ(scalar(v->value), value) << label;
    EXPECT_DOUBLE_EQ(scalar(v->grad), 1.0) << label;
  }
  // h = 3·x3 is used twice: two ops take it as an input, one op produces it
  const int h = cg.find("h")->id;
  int consumers = 0, producers = 0;
  for (const auto& op : cg.ops) {
    consumers += static_cast<int>(std::count(op.inputs.begin(), op.inputs.end(), h));
    producers += static_cast<int>(std::count(op.outputs.begin(), op.outputs.end(), h));
    if (std::count(op.outputs.begin(), op.outputs.end(), h)) {
      ASSERT_EQ(op.inputs.size(), 1u);
      EXPECT_EQ(cg.values[static_cast<size_t>(op.inputs[0])].label, "x3");
      ASSERT_EQ(op.input_grads.size(), 1u);
      EXPECT_DOUBLE_EQ(scalar(op.input_grads[0]), 6.0);  // dE/dh · ∂h/∂x3 = 2 · 3
    }
  }
  EXPECT_EQ(consumers, 2);
  EXPECT_EQ(producers, 1);
}

TEST(Graph, LectureDotHasNodesEdgesAndGradients) {
  Lecture g;
  viz::GraphRecorder rec;
  g.build();
  g.E.backward();
  const std::string dot = viz::to_dot(g.E, {.recorder = &rec, .title = "lecture"});
  EXPECT_EQ(dot.rfind("digraph", 0), 0u);
  EXPECT_NE(dot.find("label=\"h\\nscalar\\nvalue 6\\ngrad 2\""), std::string::npos) << dot;
  EXPECT_NE(dot.find("label=\"x3\\nscalar\\nvalue 2\\ngrad 8\""), std::string::npos);
  EXPECT_NE(dot.find("label=\"x2\\nscalar\\nvalue 2\\ngrad 6\""), std::string::npos);
  EXPECT_NE(dot.find("label=\"E\\nscalar\\nvalue 24\\ngrad 1\""), std::string::npos);
  EXPECT_EQ(viz_test::count_of(dot, "label=\"MulBackward\""), 4);
  EXPECT_EQ(viz_test::count_of(dot, "label=\"AddBackward\""), 4);
  // 14 input edges (x2·x2 counts twice) + 8 output edges, all value -> op -> value
  std::multiset<std::string> edges = solid_edges(dot);
  EXPECT_EQ(edges.size(), 22u);
  int into_ops = 0, out_of_ops = 0;
  for (const auto& e : edges) {
    if (e.rfind("v", 0) == 0 && e.find("->op") != std::string::npos) ++into_ops;
    if (e.rfind("op", 0) == 0 && e.find("->v") != std::string::npos) ++out_of_ops;
  }
  EXPECT_EQ(into_ops, 14);
  EXPECT_EQ(out_of_ops, 8);
  EXPECT_EQ(viz_test::count_of(dot, "dashed"), 0);
  // the backward graph adds one dashed edge per input edge, labelled with what flowed back
  const std::string both = viz::to_dot(g.E, {.recorder = &rec, .show_backward = true});
  EXPECT_EQ(viz_test::count_of(both, "style=dashed"), 14);
  EXPECT_NE(both.find("label=\"6\"]"), std::string::npos);  // dE/dx3 along h = 3·x3
  // options switch parts off
  const std::string bare =
      viz::to_dot(g.E, {.recorder = &rec, .show_values = false, .show_gradients = false});
  EXPECT_EQ(bare.find("value "), std::string::npos);
  EXPECT_EQ(bare.find("grad "), std::string::npos);
}

TEST(Graph, WithoutRecorderNamesComeFromLeavesTensorsAndRetainGrad) {
  Lecture g;
  g.build();
  g.h.retain_grad();
  g.E.backward();
  viz::ComputationGraph cg = viz::capture_graph({g.E});
  EXPECT_EQ(cg.values.size(), 11u);
  EXPECT_EQ(cg.ops.size(), 8u);
  ASSERT_NE(cg.find("x3"), nullptr);
  EXPECT_DOUBLE_EQ(scalar(cg.find("x3")->grad), 8.0);
  ASSERT_NE(cg.find("h"), nullptr);  // found through retain_grad
  EXPECT_DOUBLE_EQ(scalar(cg.find("h")->grad), 2.0);
  ASSERT_NE(cg.find("E"), nullptr);   // the root itself
  EXPECT_EQ(cg.find("y1"), nullptr);  // neither recorded, retained nor passed
  const viz::GraphValue* t = cg.find("t1");
  ASSERT_NE(t, nullptr);
  EXPECT_FALSE(t->value.defined());
  // passing tensors names them (values known, gradients not retained)
  viz::ComputationGraph named = viz::capture_graph({g.E}, {.tensors = {g.y1, g.y2}});
  ASSERT_NE(named.find("y1"), nullptr);
  EXPECT_DOUBLE_EQ(scalar(named.find("y1")->value), 14.0);
  EXPECT_FALSE(named.find("y1")->grad.defined());
}

TEST(Graph, ConstantsAndLargeValues) {
  sn::manual_seed(0);
  auto x = sn::tensor({{1.0, 2.0}, {3.0, 4.0}}).set_name("data");
  auto w = sn::randn({2, 8}, {.requires_grad = true}).set_name("W");
  sn::Tensor loss;
  {
    viz::GraphRecorder rec;
    loss = sn::matmul(x, w).sum().set_name("loss");
    viz::ComputationGraph cg = viz::capture_graph({loss}, {.recorder = &rec});
    const viz::GraphValue* data = cg.find("data");
    ASSERT_NE(data, nullptr);
    EXPECT_EQ(data->kind, viz::ValueKind::Constant);
    EXPECT_TRUE(sn::equal(data->value, x));
    const std::string dot = viz::to_dot(cg, {.max_elements = 4});
    EXPECT_NE(dot.find("data\\n[2, 2]\\nvalue [[1, 2], [3, 4]]"), std::string::npos) << dot;
    EXPECT_NE(dot.find("W\\n[2, 8]\\nvalue <[2, 8]>"), std::string::npos) << dot;
    EXPECT_NE(dot.find("#eeeeee"), std::string::npos);  // constants are grey
  }
  // without a recorder the constant is known only as "an input that needs no gradient"
  viz::ComputationGraph cg = viz::capture_graph({loss});
  const viz::GraphValue* c = cg.find("const1");
  ASSERT_NE(c, nullptr);
  EXPECT_FALSE(c->shape_known);
  EXPECT_NE(viz::to_dot(cg).find("const1\\nno grad"), std::string::npos);

  // a root without history is a one-value graph
  viz::ComputationGraph one = viz::capture_graph({x});
  EXPECT_EQ(one.values.size(), 1u);
  EXPECT_TRUE(one.ops.empty());
  EXPECT_THROW(viz::capture_graph({sn::Tensor()}), sn::ValueError);
}

TEST(Graph, RecorderScopeAndNesting) {
  auto a = sn::tensor(2.0, {.requires_grad = true});
  viz::GraphRecorder outer;
  auto b = a * a;
  int64_t inner_ops = 0;
  {
    viz::GraphRecorder inner;
    auto c = b + 1.0;
    (void)c;
    inner_ops = inner.num_ops();
    EXPECT_DOUBLE_EQ(scalar(inner.output(c.grad_fn().get(), 0)), 5.0);
    // b was made before `inner` started, but as c's input its value is kept too
    EXPECT_DOUBLE_EQ(scalar(inner.output(b.grad_fn().get(), 0)), 4.0);
  }
  EXPECT_EQ(inner_ops, 1);
  EXPECT_EQ(outer.num_ops(), 2);
  outer.stop();
  EXPECT_FALSE(outer.recording());
  auto d = b * 3.0;
  EXPECT_EQ(outer.num_ops(), 2);
  EXPECT_FALSE(outer.output(d.grad_fn().get(), 0).defined());
}

using GraphFiles = sn::test::TempDirTest;

TEST_F(GraphFiles, RenderWritesDotAndSvg) {
  Lecture g;
  g.build();
  const std::string dir = dir_.string();
  const std::string dot = viz::to_dot(g.E);
  const bool svg = viz::render_svg(dot, dir + "/lecture.svg");
  std::ifstream f(dir + "/lecture.dot");
  std::string written((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_EQ(written, dot);
  EXPECT_EQ(svg, viz::graphviz_available());
  if (svg) {
    std::ifstream s(dir + "/lecture.svg");
    std::string text((std::istreambuf_iterator<char>(s)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("<svg"), std::string::npos);
    EXPECT_NE(text.find("MulBackward"), std::string::npos);
  }
  EXPECT_THROW(viz::render_svg(dot, dir + "/no/such/dir/x.svg"), sn::IOError);
  EXPECT_THROW(viz::render_svg(dot, dir + "/graph.dot"), sn::IOError);
}
