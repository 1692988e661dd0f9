// CSV datasets: features/targets for classification (text and integer labels, mapping kept) and
// regression, quoting, CRLF/BOM, and errors that name file, line and column.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "sinapsis/data/data.h"
#include "sinapsis/ops/ops.h"

using namespace sn;
using data::CsvDataset;
using data::CsvTask;

namespace {

void expect_error(const std::string& text, const data::CsvOptions& opts,
                  const std::vector<std::string>& parts) {
  try {
    CsvDataset::parse(text, opts, "t.csv");
    FAIL() << "accepted bad CSV; expected: " << parts[0];
  } catch (const IOError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("t.csv"), std::string::npos) << msg;
    for (const std::string& p : parts) EXPECT_NE(msg.find(p), std::string::npos) << msg;
  }
}

}  // namespace

TEST(Csv, TextLabelsBecomeSortedClassIndices) {
  const std::string text =
      "sepal,petal,species\n"
      "5.1,1.4,setosa\n"
      "7.0,4.7,versicolor\n"
      "6.3,6.0,virginica\n"
      "4.9,1.5,setosa\n";
  auto ds = CsvDataset::parse(text, {.target = "species"});
  EXPECT_EQ(ds->size(), 4);
  EXPECT_EQ(ds->feature_names(), (std::vector<std::string>{"sepal", "petal"}));
  EXPECT_EQ(ds->classes(), (std::vector<std::string>{"setosa", "versicolor", "virginica"}));
  EXPECT_EQ(ds->y().to_vector(), (std::vector<double>{0, 1, 2, 0}));
  EXPECT_EQ(ds->y().dtype(), kInt64);
  EXPECT_EQ(ds->class_index("virginica"), 2);
  EXPECT_THROW(ds->class_index("rose"), ValueError);
  const auto x = ds->get(1).x.to_vector();
  EXPECT_FLOAT_EQ(static_cast<float>(x[0]), 7.0f);
  EXPECT_FLOAT_EQ(static_cast<float>(x[1]), 4.7f);
  EXPECT_EQ(ds->get(1).x.dtype(), kFloat32);
}

TEST(Csv, IntegerLabelsOrderByValue) {
  auto ds = CsvDataset::parse("a,label\n1,10\n2,3\n3,10\n4,-1\n", {.target = "label"});
  EXPECT_EQ(ds->classes(), (std::vector<std::string>{"-1", "3", "10"}));
  EXPECT_EQ(ds->y().to_vector(), (std::vector<double>{2, 1, 2, 0}));
  EXPECT_EQ(ds->class_index("10"), 2);
  EXPECT_EQ(ds->class_index("10.0"), 2);
}

TEST(Csv, RegressionTargetsAreFloatColumns) {
  auto ds = CsvDataset::parse("price,rooms,area\n100.5,3,70\n80,2,50\n",
                              {.target = "price", .task = CsvTask::Regression});
  EXPECT_EQ(ds->y().shape(), (Shape{2, 1}));
  EXPECT_EQ(ds->y().dtype(), kFloat32);
  EXPECT_EQ(ds->y().to_vector(), (std::vector<double>{100.5, 80}));
  EXPECT_EQ(ds->x().to_vector(), (std::vector<double>{3, 70, 2, 50}));
  EXPECT_THROW(ds->class_index("1"), ValueError);
}

TEST(Csv, ChosenFeaturesQuotesWhitespaceCrlfAndBom) {
  const std::string text =
      "\xEF\xBB\xBF"
      "id, \"name, full\" ,w,h,kind\r\n"
      "1,\"Smith, J\",  2.5 ,+3,\"big \"\"one\"\"\"\r\n"
      "\r\n"
      "2,\"Doe\",1e1,-4,small\r\n";
  auto ds = CsvDataset::parse(text, {.target = "kind", .features = {"h", "w"}});
  EXPECT_EQ(ds->feature_names(), (std::vector<std::string>{"h", "w"}));
  EXPECT_EQ(ds->x().to_vector(), (std::vector<double>{3, 2.5, -4, 10}));
  EXPECT_EQ(ds->classes(), (std::vector<std::string>{"big \"one\"", "small"}));
  EXPECT_THROW(CsvDataset::parse(text, {.target = "kind", .features = {"kind"}}), ValueError);
}

TEST(Csv, SemicolonDelimiter) {
  auto ds = CsvDataset::parse("x;y\n1.5;a\n", {.target = "y", .delimiter = ';'});
  EXPECT_EQ(ds->size(), 1);
  // "1,5" is not a number (no locale decimal commas): rejected below, accepted as a label here.
  EXPECT_THROW(CsvDataset::parse("y;x\na;1,5\n", {.target = "y", .delimiter = ';'}), IOError);
}

TEST(Csv, ErrorsNameFileLineAndColumn) {
  const data::CsvOptions cls{.target = "label"};
  expect_error("a,b,label\n1,2,x\n3,abc,y\n", cls, {"line 3", "column 'b' (2)", "\"abc\"", "hint"});
  expect_error("a,b,label\n1,nan,x\n", cls, {"line 2", "column 'b'", "\"nan\""});
  expect_error("a,b,label\n1,inf,x\n", cls, {"line 2", "\"inf\""});
  expect_error("a,b,label\n1,,x\n", cls, {"line 2", "column 'b'", "empty field"});
  expect_error("a,b,label\n1,2\n", cls, {"line 2", "expected 3 fields", "found 2"});
  expect_error("a,b,label\n1,2,x,4\n", cls, {"line 2", "found 4"});
  expect_error("a,b,label\n1,2,\n", cls, {"line 2", "empty class label"});
  expect_error("a,b,label\n1,2,\"open\n", cls, {"line 2", "unterminated quote"});
  expect_error("a,b,label\n1,\"2\"x,y\n", cls, {"line 2", "after its closing quote"});
  expect_error("a,b,label\n1,1e999,y\n", cls, {"line 2", "\"1e999\""});
  expect_error("a,b,label\n1,1e300,y\n", cls, {"line 2", "float32 range"});
  expect_error("a,b,a\n1,2,3\n", {.target = "b"}, {"line 1", "'a' appears twice"});
  expect_error("a,b\n1,2\n", cls, {"no column 'label'", "columns: a, b"});
  expect_error("a,b,label\n1,2,x\n", {.target = "label", .features = {"z"}},
               {"no feature column 'z'"});
  expect_error("", cls, {"empty"});
  expect_error("a,b,label\n\n", cls, {"no data rows"});
  expect_error("label\nx\n", cls, {"no feature columns"});
  expect_error("y,x\n1,2\nfoo,3\n", {.target = "y", .task = CsvTask::Regression},
               {"line 3", "column 'y' (1)", "\"foo\""});
  EXPECT_THROW(CsvDataset::parse("a\n1\n", {}), ValueError);  // no target given
}

TEST(Csv, LoadsFromDiskAndNamesTheFile) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("sn_csv_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string good = (dir / "ok.csv").string(), bad = (dir / "bad.csv").string();
  std::ofstream(good) << "f,t\n0.5,yes\n1.5,no\n";
  std::ofstream(bad) << "f,t\n0.5,yes\nNaN,no\n";
  auto ds = CsvDataset::load(good, {.target = "t"});
  EXPECT_EQ(ds->classes(), (std::vector<std::string>{"no", "yes"}));
  EXPECT_EQ(ds->y().to_vector(), (std::vector<double>{1, 0}));
  try {
    CsvDataset::load(bad, {.target = "t"});
    FAIL();
  } catch (const IOError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find(bad), std::string::npos) << msg;
    EXPECT_NE(msg.find("line 3"), std::string::npos) << msg;
  }
  EXPECT_THROW(CsvDataset::load((dir / "none.csv").string(), {.target = "t"}), IOError);
  std::filesystem::remove_all(dir);
}
