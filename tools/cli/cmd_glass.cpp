// The teaching commands: `sinapsis graph` (the computation graph drawn with values and
// gradients, plus the backprop trace), `sinapsis gradcheck` (analytic vs numerical gradients of a
// model, per parameter) and `sinapsis classic` (perceptron, Hebb, ADALINE, linear and logistic
// regression on a CSV file, printing weights and the error per epoch).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "cli.h"

namespace sn::cli {

namespace fs = std::filesystem;

namespace {

nn::BuiltModel model_from(const std::string& model_file, const std::string& preset,
                          const std::vector<int64_t>& input, int64_t outputs) {
  if (!model_file.empty()) return nn::build_model_file(model_file, Shape(input));
  SN_CHECK(!input.empty(), ValueError, "--input-shape: needed with --preset (e.g. 1,28,28)");
  return nn::build_model(nn::preset_spec(preset, Shape(input), outputs));
}

// The course's recurrent network as the graph it becomes when unrolled in time: an Elman RNN
// h_t = tanh(W_xh·x_t + W_hh·h_{t-1} + b), y_t = W_hy·h_t, E = ½·Σ_t (y_t - d_t)², built from
// public ops so every multiply and add is a node. The same W_hh is used at every step, so its
// gradient is the sum over time: backpropagation through time is backpropagation on this graph.
Tensor unrolled_rnn(int64_t steps, std::vector<Tensor>& named) {
  constexpr int64_t kHidden = 2;
  Tensor w_xh =
      mul(randn({kHidden, 1}, {.dtype = kFloat64}), 0.8).requires_grad_().set_name("W_xh");
  Tensor w_hh =
      mul(randn({kHidden, kHidden}, {.dtype = kFloat64}), 0.5).requires_grad_().set_name("W_hh");
  Tensor b = mul(randn({kHidden, 1}, {.dtype = kFloat64}), 0.1).requires_grad_().set_name("b");
  Tensor w_hy =
      mul(randn({1, kHidden}, {.dtype = kFloat64}), 0.8).requires_grad_().set_name("W_hy");
  named = {w_xh, w_hh, b, w_hy};
  Tensor h = zeros({kHidden, 1}, {.dtype = kFloat64}).set_name("h0");
  Tensor E;
  for (int64_t t = 1; t <= steps; ++t) {
    const std::string n = std::to_string(t);
    // a sine wave in, the next value of it as the target: the classic sequence task
    Tensor x = full({1, 1}, std::sin(0.6 * double(t)), {.dtype = kFloat64}).set_name("x" + n);
    Tensor d = full({1, 1}, std::sin(0.6 * double(t + 1)), {.dtype = kFloat64}).set_name("d" + n);
    Tensor u = matmul(w_hh, h).set_name("u" + n);  // the recurrent term W_hh·h_{t-1}
    Tensor a = add(add(matmul(w_xh, x), u), b).set_name("a" + n);
    h = tanh(a).set_name("h" + n);
    Tensor y = matmul(w_hy, h).set_name("y" + n);
    Tensor r = sub(y, d).set_name("r" + n);
    Tensor e = mul(sum(mul(r, r)), 0.5).set_name("e" + n);
    E = E.defined() ? add(E, e) : e;
    named.insert(named.end(), {x, u, a, h, y, r, e});
  }
  E.set_name("E");
  named.push_back(E);
  return E;
}

void add_graph(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "graph",
      "Draw a computation graph with values and gradients (.dot always, .svg with Graphviz)");
  struct Args {
    std::string model, preset, out = "graph";
    std::vector<int64_t> input;
    int64_t outputs = 3;
    bool trace = false, markdown = false, backward = false;
    int64_t unroll = 0;
  };
  auto a = std::make_shared<Args>();
  auto* model =
      cmd->add_option("--model", a->model, "JSON model spec (default: the lecture graph)");
  cmd->add_option("--preset", a->preset, "preset model instead of a spec")->excludes(model);
  cmd->add_option("--input-shape", a->input, "per-example input shape, e.g. 4 or 1,28,28")
      ->delimiter(',');
  cmd->add_option("--outputs", a->outputs, "outputs of a preset model")
      ->capture_default_str()
      ->check(positive())
      ->excludes(model);
  cmd->add_option("--out", a->out, "output path without extension")->capture_default_str();
  cmd->add_flag("--trace", a->trace, "print the step-by-step backward pass");
  cmd->add_flag("--markdown", a->markdown, "print the trace as Markdown");
  cmd->add_flag("--backward", a->backward, "also draw the gradient edges");
  cmd->add_option("--rnn", a->unroll,
                  "a small recurrent network unrolled over this many time steps (1-8) instead")
      ->check(CLI::Range(1, 8));
  cmd->callback([a, cmd] {
    SN_CHECK(a->unroll == 0 || (a->model.empty() && a->preset.empty() && a->input.empty() &&
                                cmd->get_option("--outputs")->count() == 0),
             ValueError,
             "graph: --rnn draws its own network; drop --model/--preset/--input-shape/--outputs");
    SN_CHECK(!a->model.empty() || !a->preset.empty() || a->unroll > 0 ||
                 (a->input.empty() && cmd->get_option("--outputs")->count() == 0),
             ValueError,
             "graph: --input-shape and --outputs shape a --preset or --model; the lecture graph "
             "(neither given) has its own inputs");
    manual_seed(0);
    viz::GraphRecorder rec;
    viz::BackpropTrace trace({.recorder = &rec});
    Tensor E;
    std::vector<Tensor> named;
    if (a->unroll > 0) {
      E = unrolled_rnn(a->unroll, named);
    } else if (a->model.empty() && a->preset.empty()) {
      // the lecture graph: h = 3·x3 is shared by y1 and y2
      Tensor x1 = tensor(1.0, {.requires_grad = true}).set_name("x1");
      Tensor x2 = tensor(2.0, {.requires_grad = true}).set_name("x2");
      Tensor x3 = tensor(2.0, {.requires_grad = true}).set_name("x3");
      Tensor h = (3 * x3).set_name("h");
      Tensor y1 = (4 * x1 + x2 * x2 + h).set_name("y1");
      Tensor y2 = (x2 * x3 + h).set_name("y2");
      E = (y1 + y2).set_name("E");
      named = {x1, x2, x3, h, y1, y2, E};
    } else {
      nn::BuiltModel m = model_from(a->model, a->preset, a->input, a->outputs);
      for (auto& [name, p] : m.module->named_parameters()) {
        Tensor t = p;
        t.set_name(name);
        named.push_back(t);
      }
      Shape in = m.input_shape;
      in.insert(0, 1);
      Tensor x = randn(in).set_name("x");
      Tensor y = (*m.module)(x).set_name("y");
      E = mul(sum(mul(y, y)), 0.5).set_name("E");  // E = ½·Σ y²
      named.push_back(x);
    }
    E.backward();
    rec.stop();
    trace.stop();
    const std::string dot =
        viz::to_dot(E, {.recorder = &rec, .tensors = named, .show_backward = a->backward});
    fs::path dir = fs::path(a->out).parent_path();
    if (!dir.empty()) fs::create_directories(dir);
    write_text_atomic(a->out + ".dot", dot);
    std::cout << "wrote " << a->out << ".dot (" << rec.num_ops() << " operations)\n";
    if (viz::render_svg(dot, a->out + ".svg"))
      std::cout << "wrote " << a->out << ".svg\n";
    else
      std::cout << "Graphviz `dot` not found: install graphviz to render " << a->out << ".svg\n";
    if (a->trace || a->markdown)
      std::cout << "\n" << (a->markdown ? trace.markdown() : trace.text());
  });
}

void add_gradcheck(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "gradcheck", "Compare a model's backprop gradients with finite differences, per parameter");
  struct Args {
    std::string model, preset;
    std::vector<int64_t> input;
    int64_t outputs = 3, samples = 20, batch = 2;
    double eps = 1e-6;
  };
  auto a = std::make_shared<Args>();
  auto* model = cmd->add_option("--model", a->model, "JSON model spec");
  cmd->add_option("--preset", a->preset, "preset model instead of a spec")->excludes(model);
  cmd->add_option("--input-shape", a->input, "per-example input shape, e.g. 1,28,28")
      ->delimiter(',');
  cmd->add_option("--outputs", a->outputs, "outputs of a preset model")
      ->capture_default_str()
      ->check(positive())
      ->excludes(model);
  cmd->add_option("--samples", a->samples, "elements checked per parameter")
      ->capture_default_str()
      ->check(positive());
  cmd->add_option("--batch", a->batch, "examples in the random input batch")
      ->capture_default_str()
      ->check(positive());
  cmd->add_option("--eps", a->eps, "finite-difference step")
      ->capture_default_str()
      ->check(positive());
  cmd->callback([a] {
    SN_CHECK(!a->model.empty() || !a->preset.empty(), ValueError,
             "gradcheck: give --model FILE or --preset NAME");
    manual_seed(0);
    nn::BuiltModel m = model_from(a->model, a->preset, a->input, a->outputs);
    nn::Module& model = *m.module;
    model.to(kFloat64);
    check_batch_memory("--batch", a->batch, model, m.input_shape, kFloat64);
    model.eval();  // dropout off, batch norm on running statistics: a deterministic function
    Shape in = m.input_shape;
    in.insert(0, a->batch);
    const Tensor x = randn(in, {.dtype = kFloat64});
    auto loss = [&] {
      Tensor y = model(x);
      Tensor w = linspace(1.0, 0.5, y.numel(), {.dtype = kFloat64}).reshape(y.shape());
      return sum(mul(y, w));  // a fixed projection: every output counts differently
    };
    model.zero_grad();
    loss().backward();
    std::cout << "gradcheck of " << (a->model.empty() ? "preset " + a->preset : a->model)
              << " in float64, "
              << "E = Σ w·model(x) for x ~ N(0, 1) " << in << ", central differences (eps "
              << a->eps << ")\n\n";
    std::printf("%-28s %-16s %8s %14s %14s %10s  %s\n", "parameter", "shape", "checked",
                "max |a - n|", "max rel err", "", "worst (analytic vs numeric)");
    bool all_ok = true;
    NoGradGuard ng;
    for (auto& [name, p] : model.named_parameters()) {
      Tensor g = p.grad().defined() ? p.grad().contiguous() : zeros_like(p);
      double* pd = p.data_ptr<double>();
      const double* gd = g.data_ptr<double>();
      const int64_t n = p.numel(), k = std::min(n, a->samples);
      double max_abs = 0, max_rel = 0, wa = 0, wn = 0;
      bool ok = true;
      for (int64_t s = 0; s < k; ++s) {
        const int64_t i = k == n ? s : (s * 7919) % n;  // spread over the tensor
        const double orig = pd[i];
        pd[i] = orig + a->eps;
        const double fp = loss().item();
        pd[i] = orig - a->eps;
        const double fm = loss().item();
        pd[i] = orig;
        const double num = (fp - fm) / (2 * a->eps), an = gd[i];
        const double err = std::abs(an - num),
                     rel = err / std::max({std::abs(an), std::abs(num), 1e-12});
        if (err > 1e-5 + 1e-3 * std::abs(num)) ok = false;
        if (err >= max_abs) {
          max_abs = err;
          wa = an;
          wn = num;
        }
        max_rel = std::max(max_rel, rel);
      }
      all_ok = all_ok && ok;
      std::ostringstream sh;
      sh << p.shape();
      std::printf("%-28s %-16s %8lld %14.3e %14.3e %10s  %.8g vs %.8g\n", name.c_str(),
                  sh.str().c_str(), static_cast<long long>(k), max_abs, max_rel,
                  ok ? "ok" : "MISMATCH", wa, wn);
    }
    std::cout << "\n" << (all_ok ? "all gradients agree" : "some gradients disagree") << "\n";
    SN_CHECK(all_ok, ValueError,
             "gradcheck: analytic and numerical gradients disagree (see the table)");
  });
}

// The weights as a table: one row per input (w0, the bias, first, then the CSV's feature
// columns) and one column per output (per class for multinomial logistic regression).
void print_weights(const Tensor& w, const data::CsvDataset& csv,
                   const std::vector<std::string>& columns = {}) {
  std::vector<std::string> rows = {"w0 (bias)"};
  for (const auto& f : csv.feature_names()) rows.push_back(f);
  const Tensor w2 = w.dim() == 1 ? w.unsqueeze(1) : w;
  const std::vector<double> v = w2.contiguous().to_vector();
  const int64_t k = w2.size(1);
  size_t width = 9;
  for (const auto& r : rows) width = std::max(width, r.size());
  std::cout << "weights:\n";
  if (!columns.empty()) {
    std::printf("  %-*s", static_cast<int>(width), "");
    for (const auto& c : columns) std::printf(" %12s", c.c_str());
    std::printf("\n");
  }
  for (int64_t i = 0; i < w2.size(0); ++i) {
    std::printf("  %-*s", static_cast<int>(width), rows[static_cast<size_t>(i)].c_str());
    for (int64_t j = 0; j < k; ++j) std::printf(" %12s", fmt(v[i * k + j], 6).c_str());
    std::printf("\n");
  }
}

// "'no' → 0, 'yes' → 1": how the CLI numbered the target's labels.
std::string class_mapping(const data::CsvDataset& csv) {
  std::string s;
  for (size_t i = 0; i < csv.classes().size(); ++i)
    s += (i ? ", '" : "'") + csv.classes()[i] + "' → " + std::to_string(i);
  return s;
}

void add_classic(CLI::App& app) {
  auto* cmd = app.add_subcommand("classic", "The classic learners on a CSV file");
  cmd->require_subcommand(1);
  struct Args {
    std::string data, target, mode, encoding = "auto";
    int64_t epochs = 0, batch_size = 0;
    double lr = -1;
    bool shuffle = false, no_bias = false;
  };
  struct Learner {
    const char* name;
    const char* help;
    int64_t epochs;                  // default --epochs
    double lr;                       // default --lr
    std::vector<std::string> modes;  // allowed --mode values, the default first; empty: none
    int64_t batch_size;              // default --batch-size (minibatch), 0: no such option
    bool raw_target;                 // the target column as numbers, not as class indices
    bool shuffle = false;            // default of --shuffle / --no-shuffle
  };
  using Run =
      std::function<void(const Args&, const Tensor&, const Tensor&, const data::CsvDataset&)>;
  auto add = [&](const Learner& l, Run run, const std::function<void(CLI::App*, Args&)>& extra) {
    auto* sub = cmd->add_subcommand(l.name, l.help);
    auto a = std::make_shared<Args>();
    a->epochs = l.epochs;
    a->lr = l.lr;
    sub->add_option("--data", a->data, "CSV file with a header")->required();
    sub->add_option("--target", a->target, "target column")->required();
    sub->add_option("--epochs", a->epochs, "passes over the data")
        ->capture_default_str()
        ->check(positive());
    sub->add_option("--lr", a->lr, "learning rate η")->capture_default_str()->check(positive());
    if (!l.modes.empty()) {
      a->mode = l.modes.front();
      std::string list;
      for (const auto& m : l.modes) list += (list.empty() ? "" : ", ") + m;
      sub->add_option("--mode", a->mode, "weight updates: " + list)
          ->check(CLI::IsMember(l.modes))
          ->capture_default_str();
      a->shuffle = l.shuffle;
      sub->add_flag(
          "--shuffle,!--no-shuffle", a->shuffle,
          std::string("online/minibatch: a new random sample order each epoch (default ") +
              (l.shuffle ? "on)" : "off)"));
    }
    if (l.batch_size > 0) {
      a->batch_size = l.batch_size;
      sub->add_option("--batch-size", a->batch_size, "samples per update in --mode minibatch")
          ->capture_default_str()
          ->check(positive());
    }
    if (extra) extra(sub, *a);
    const bool raw = l.raw_target;
    sub->callback([a, run, raw, sub] {
      // options the chosen mode would ignore
      if (!a->mode.empty() && a->mode != "minibatch")
        refuse_given(*sub, {"--batch-size"}, "with --mode " + a->mode + " (minibatch only)");
      if (a->mode == "batch")
        refuse_given(*sub, {"--shuffle"},
                     "with --mode batch (one update per epoch from all samples: no order)");
      manual_seed(0);
      auto csv = data::CsvDataset::load(
          a->data, {.target = a->target,
                    .task = raw ? data::CsvTask::Regression : data::CsvTask::Classification});
      Tensor x = csv->x().to(kFloat64);
      Tensor y = csv->y().to(kFloat64).reshape(Shape{-1});
      std::cout << a->data << ": " << x.size(0) << " samples, " << x.size(1)
                << (x.size(1) == 1 ? " feature" : " features") << ", target '" << a->target
                << "'\n";
      run(*a, x, y, *csv);
    });
  };
  auto mode_of = [](const Args& a) {
    return a.mode == "batch"       ? classic::UpdateMode::Batch
           : a.mode == "minibatch" ? classic::UpdateMode::MiniBatch
                                   : classic::UpdateMode::Online;
  };
  // every 10th epoch, the first five and the last: enough to see the curve
  auto shown = [](size_t e, size_t n) { return e < 5 || e + 1 == n || (e + 1) % 10 == 0; };

  add({.name = "perceptron",
       .help = "Rosenblatt's perceptron (two classes, numbered 0/1 in sorted order)",
       .epochs = 100,
       .lr = 1.0,
       .modes = {"online", "batch"},
       .batch_size = 0,
       .raw_target = false},
      [=](const Args& a, const Tensor& x, const Tensor& y, const data::CsvDataset& csv) {
        SN_CHECK(csv.num_classes() == 2, ValueError, "classic perceptron: the target '", a.target,
                 "' has ", csv.num_classes(), " classes (", class_mapping(csv),
                 "); a perceptron separates exactly two; hint: classic logreg handles more");
        std::cout << "classes: " << class_mapping(csv) << "\n";
        classic::Perceptron p(x.size(1));
        auto r = p.fit(
            x, y, {.lr = a.lr, .max_epochs = a.epochs, .mode = mode_of(a), .shuffle = a.shuffle});
        for (size_t e = 0; e < r.errors.size(); ++e)
          std::cout << "epoch " << e + 1 << ": " << r.errors[e] << " misclassified\n";
        std::cout << (r.converged ? "converged in epoch " + std::to_string(r.epochs)
                                  : "did not converge in " + std::to_string(r.epochs) +
                                        " epochs (not linearly separable?)")
                  << "\n";
        print_weights(p.weights(), csv);
      },
      {});
  add(
      {.name = "hebb",
       .help = "Hebb's rule Δw = η·x·y (binary 0/1 or bipolar -1/1 data)",
       .epochs = 1,
       .lr = 1.0,
       .modes = {},
       .batch_size = 0,
       .raw_target = true},
      [=](const Args& a, const Tensor& x, const Tensor& y, const data::CsvDataset& csv) {
        classic::Encoding enc = classic::Encoding::Binary;
        if (a.encoding == "bipolar") {
          enc = classic::Encoding::Bipolar;
        } else if (a.encoding == "auto") {
          // -1 anywhere (target or features) says bipolar; otherwise the data is read as 0/1
          const std::vector<double> yv = y.to_vector(), xv = x.contiguous().to_vector();
          auto has_minus_one = [](const std::vector<double>& v) {
            return std::find(v.begin(), v.end(), -1.0) != v.end();
          };
          if (has_minus_one(yv) || has_minus_one(xv)) enc = classic::Encoding::Bipolar;
        }
        std::cout << "encoding: " << classic::to_string(enc)
                  << (a.encoding == "auto" ? " (detected; --encoding to choose)" : "")
                  << (a.no_bias ? ", no bias" : ", bias w0 on a constant input 1") << "\n";
        classic::Hebb h(x.size(1),
                        {.lr = a.lr, .bias = !a.no_bias, .encoding = enc, .epochs = a.epochs});
        auto r = h.fit(x, y);
        const size_t n = static_cast<size_t>(x.size(0));
        for (size_t i = 0; i < r.weights.size(); ++i) {
          std::cout << (a.epochs > 1 ? "epoch " + std::to_string(i / n + 1) + ", " : "")
                    << "after sample " << i % n + 1 << ": w =";
          for (double v : r.weights[i].to_vector()) std::cout << " " << fmt(v, 4);
          std::cout << "\n";
        }
        std::cout << r.errors << " of " << n << " training samples misclassified after learning"
                  << (r.errors ? " (Hebb's rule does not correct errors: try classic perceptron)"
                               : "")
                  << "\n";
        print_weights(h.weights(), csv);
      },
      [](CLI::App* sub, Args& a) {
        sub->add_option("--encoding", a.encoding,
                        "auto (bipolar when a -1 occurs), binary (0/1) or bipolar (-1/1)")
            ->check(CLI::IsMember({"auto", "binary", "bipolar"}))
            ->capture_default_str();
        sub->add_flag("--no-bias", a.no_bias, "no bias input: w0 stays 0");
      });
  add({.name = "adaline",
       .help = "ADALINE / Widrow-Hoff LMS (linear output, squared error)",
       .epochs = 100,
       .lr = 0.01,
       .modes = {"online", "minibatch", "batch"},
       .batch_size = 16,
       .raw_target = true},
      [=](const Args& a, const Tensor& x, const Tensor& y, const data::CsvDataset& csv) {
        classic::Adaline m(x.size(1));
        auto r = m.fit(x, y,
                       {.lr = a.lr,
                        .max_epochs = a.epochs,
                        .mode = mode_of(a),
                        .batch_size = a.batch_size,
                        .shuffle = a.shuffle});
        for (size_t e = 0; e < r.mse.size(); ++e)
          std::cout << "epoch " << e + 1 << ": mse " << fmt(r.mse[e], 6) << "\n";
        // the weights of a diverged run are no answer: an error, not a table of them
        SN_CHECK(!r.diverged, ValueError, "classic adaline: diverged in epoch ", r.epochs, " (mse ",
                 fmt(r.mse.back(), 6), ", a million-fold growth); hint: a smaller --lr (now ", a.lr,
                 ")");
        print_weights(m.weights(), csv);
      },
      {});
  add({.name = "linreg",
       .help = "Linear regression: normal equations, then gradient descent",
       .epochs = 100,
       .lr = 0.01,
       .modes = {"online", "minibatch", "batch"},
       .batch_size = 32,
       .raw_target = true,
       .shuffle = true},
      [=](const Args& a, const Tensor& x, const Tensor& y, const data::CsvDataset& csv) {
        classic::LinearRegression ne;
        auto rn = ne.fit_normal_equations(x, y, {.fallback = classic::LstsqFallback::SVD});
        std::cout << "normal equations (" << rn.solver << ", cond " << rn.condition << "): mse "
                  << fmt(classic::mean_squared_error(ne.predict(x), y), 6) << "\n";
        print_weights(ne.weights(), csv);
        classic::LinearRegression gd;
        auto rg = gd.fit_gradient_descent(x, y,
                                          {.lr = a.lr,
                                           .epochs = a.epochs,
                                           .mode = mode_of(a),
                                           .batch_size = a.batch_size,
                                           .shuffle = a.shuffle});
        for (size_t e = 0; e < rg.loss.size(); ++e)
          if (shown(e, rg.loss.size()) || rg.diverged)
            std::cout << "epoch " << e + 1 << ": mse " << fmt(rg.loss[e], 6) << "\n";
        SN_CHECK(!rg.diverged, ValueError, "classic linreg: gradient descent diverged in epoch ",
                 rg.epochs, " (mse ", fmt(rg.loss.back(), 6), "); hint: a smaller --lr (now ", a.lr,
                 ")");
        std::cout << "gradient descent (" << a.mode << ")";
        std::cout << ", max |w_gd - w_normal| "
                  << fmt(max(abs(gd.weights() - ne.weights())).item(), 6) << "\n";
        print_weights(gd.weights(), csv);
      },
      {});
  add({.name = "logreg",
       .help = "Logistic regression (softmax for more than two classes)",
       .epochs = 100,
       .lr = 0.1,
       .modes = {"online", "minibatch", "batch"},
       .batch_size = 32,
       .raw_target = false,
       .shuffle = true},
      [=](const Args& a, const Tensor& x, const Tensor& y, const data::CsvDataset& csv) {
        SN_CHECK(csv.num_classes() >= 2, ValueError, "classic logreg: the target '", a.target,
                 "' has only one class (", class_mapping(csv), ")");
        std::cout << "classes: " << class_mapping(csv) << "\n";
        classic::LogisticRegression m(x.size(1), csv.num_classes());
        auto r = m.fit(x, y.to(kInt64),
                       {.lr = a.lr,
                        .epochs = a.epochs,
                        .mode = mode_of(a),
                        .batch_size = a.batch_size,
                        .shuffle = a.shuffle});
        for (size_t e = 0; e < r.loss.size(); ++e)
          if (shown(e, r.loss.size()))
            std::cout << "epoch " << e + 1 << ": loss " << fmt(r.loss[e], 6) << ", accuracy "
                      << fmt(r.accuracy[e]) << "\n";
        for (size_t e = 0; e < r.loss.size(); ++e)
          SN_CHECK(std::isfinite(r.loss[e]), ValueError, "classic logreg: the loss is ", r.loss[e],
                   " in epoch ", e + 1, "; hint: a smaller --lr (now ", a.lr, ")");
        if (csv.num_classes() == 2)
          std::cout << "P(" << a.target << " = '" << csv.classes()[1]
                    << "') = sigmoid(w0 + Σ w·x)\n";
        print_weights(m.weights(), csv,
                      csv.num_classes() == 2 ? std::vector<std::string>{} : csv.classes());
      },
      {});
}

Register reg_graph(60, add_graph);
Register reg_gradcheck(70, add_gradcheck);
Register reg_classic(80, add_classic);

}  // namespace
}  // namespace sn::cli
