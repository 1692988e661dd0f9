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
  expect_error("a,b,label\n1,2,\n", cls, {"line 2", "column 'label' (3)", "empty target"});
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

// ---- one reader for every command: columns by name, targets, fixed classes, linear time

TEST(Csv, MissingOrNonFiniteTargetIsAnErrorWithItsLine) {
  const data::CsvOptions cls{.target = "y"};
  expect_error("x,y\n1,a\n2,NaN\n", cls, {"line 3", "column 'y' (2)", "\"NaN\"", "missing"});
  expect_error("x,y\n1,a\n2,-inf\n3,b\n", cls, {"line 3", "\"-inf\""});
  expect_error("x,y\n1,a\n2,\"\"\n", cls, {"line 3", "empty target"});
  expect_error("x,y\n1,a\n2, \n", {.target = "y", .task = CsvTask::Auto}, {"line 3", "empty"});
  expect_error("x,y\n1,2.5\n2,nan\n", {.target = "y", .task = CsvTask::Regression},
               {"line 3", "\"nan\""});
  expect_error("x,y\n1,2.5\n2,\n", {.target = "y", .task = CsvTask::Regression},
               {"line 3", "empty target"});
}

TEST(Csv, AutoTaskTextLabelsAreClassesWhateverTheirNumber) {
  std::string text = "x,y\n";
  for (int i = 0; i < 60; ++i) text += std::to_string(i) + ",name" + std::to_string(i % 30) + "\n";
  auto ds = CsvDataset::parse(text, {.target = "y", .task = CsvTask::Auto});
  EXPECT_EQ(ds->task(), CsvTask::Classification);
  EXPECT_EQ(ds->num_classes(), 30);
  // many distinct numbers: regression; a few integers: classes; a fraction: regression
  std::string many = "x,y\n";
  for (int i = 0; i < 30; ++i) many += std::to_string(i) + "," + std::to_string(i * 3) + "\n";
  auto reg = CsvDataset::parse(many, {.target = "y", .task = CsvTask::Auto});
  EXPECT_EQ(reg->task(), CsvTask::Regression);
  EXPECT_EQ(reg->y().shape(), (Shape{30, 1}));
  EXPECT_EQ(reg->y().to_vector()[29], 87.0);
  EXPECT_EQ(
      CsvDataset::parse("x,y\n1,0\n2,1\n3,2\n", {.target = "y", .task = CsvTask::Auto})->task(),
      CsvTask::Classification);
  EXPECT_EQ(
      CsvDataset::parse("x,y\n1,0\n2,1.5\n3,0\n", {.target = "y", .task = CsvTask::Auto})->task(),
      CsvTask::Regression);
}

TEST(Csv, FixedClassesMapLabelsByTheGivenListNotTheFile) {
  const std::vector<std::string> classes{"cat", "dog", "emu"};
  // a subset of the classes, in another order: indices are the given list's
  auto ds = CsvDataset::parse("x,y\n1,emu\n2,cat\n3,emu\n",
                              {.target = "y", .task = CsvTask::Auto, .classes = classes});
  EXPECT_EQ(ds->task(), CsvTask::Classification);
  EXPECT_EQ(ds->classes(), classes);
  EXPECT_EQ(ds->y().to_vector(), (std::vector<double>{2, 0, 2}));
  // integer classes match by value ("1.0" is class "1")
  auto num = CsvDataset::parse("x,y\n1,1.0\n2,-1\n", {.target = "y", .classes = {"-1", "0", "1"}});
  EXPECT_EQ(num->y().to_vector(), (std::vector<double>{2, 0}));
  // labels the list lacks: one error naming each with its first line, and the list
  expect_error("x,y\n1,cat\n2,wolf\n3,fox\n4,wolf\n", {.target = "y", .classes = classes},
               {"2 labels", "\"fox\" (line 4)", "\"wolf\" (line 3)", "cat, dog, emu"});
}

TEST(Csv, ColumnsAreFoundByNameInAnyOrder) {
  const std::string a = "f1,f2,t\n1,10,x\n2,20,y\n";
  const std::string b = "\xEF\xBB\xBF\"t\";f2;extra;f1\r\n\"x\";10;zz;1\r\ny;\"20\";zz;2\r\n";
  auto da = CsvDataset::parse(a, {.target = "t"});
  auto db =
      CsvDataset::parse(b, {.target = "t", .features = da->feature_names(), .delimiter = ';'});
  EXPECT_EQ(da->x().to_vector(), db->x().to_vector());
  EXPECT_EQ(da->y().to_vector(), db->y().to_vector());
  // the feature reader: the target may be there or not, other columns are ignored
  Tensor xa =
      data::read_csv_features("f2,f1\n10,1\n20,2\n", {.target = "t", .features = {"f1", "f2"}});
  EXPECT_EQ(xa.shape(), (Shape{2, 2}));
  EXPECT_EQ(xa.to_vector(), da->x().to_vector());
  Tensor xb =
      data::read_csv_features(b, {.target = "t", .features = {"f1", "f2"}, .delimiter = ';'});
  EXPECT_EQ(xb.to_vector(), da->x().to_vector());
  // without names: every column but the target, in the file's order
  EXPECT_EQ(data::read_csv_features("f1,t,f2\n1,x,10\n", {.target = "t"}).to_vector(),
            (std::vector<double>{1, 10}));
  try {
    data::read_csv_features("f2,t\n1,x\n", {.target = "t", .features = {"f1", "f2"}}, "new.csv");
    FAIL() << "a missing column was accepted";
  } catch (const IOError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("new.csv"), std::string::npos) << msg;
    EXPECT_NE(msg.find("no feature column 'f1'"), std::string::npos) << msg;
  }
}

TEST(Csv, FeatureReaderRejectsNonFiniteValuesWithLineAndColumn) {
  for (const std::string bad : {"nan", "inf", "-Infinity", "1e400", "", "abc"}) {
    const std::string text = "a,b\n1,2\n3," + bad + "\n";
    try {
      data::read_csv_features(text, {.features = {"a", "b"}}, "p.csv");
      FAIL() << "accepted " << bad;
    } catch (const IOError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find("p.csv"), std::string::npos) << msg;
      EXPECT_NE(msg.find("line 3"), std::string::npos) << msg;
      EXPECT_NE(msg.find("column 'b' (2)"), std::string::npos) << msg;
    }
  }
  EXPECT_THROW(data::read_csv_features("a,b\n1,2,3\n", {}), IOError);  // field count
  EXPECT_THROW(data::read_csv_features("a,b\n", {}), IOError);         // no rows
}

TEST(Csv, HundredThousandColumnsReadInLinearTime) {
  // The header used to be checked for duplicates pair by pair (5e9 comparisons here).
  const int cols = 100000;
  std::string text;
  for (int c = 0; c < cols; ++c) text += "c" + std::to_string(c) + ",";
  text += "t\n";
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < cols; ++c) text += (c % 7 == 0 ? "1.5," : "0,");
    text += r % 2 ? "a\n" : "b\n";
  }
  auto ds = CsvDataset::parse(text, {.target = "t"});
  EXPECT_EQ(ds->x().shape(), (Shape{3, cols}));
  EXPECT_EQ(ds->get(0).x.to_vector()[7], 1.5);
  // a duplicate far apart is still found, and the error does not list 10^5 names
  std::string dup = "c0," + text.substr(0, text.find('\n')) + "\n";
  try {
    CsvDataset::parse(dup, {.target = "t"});
    FAIL();
  } catch (const IOError& e) {
    EXPECT_NE(std::string(e.what()).find("'c0' appears twice (columns 1 and 2)"), std::string::npos)
        << e.what();
  }
  try {
    CsvDataset::parse(text, {.target = "nope"});
    FAIL();
  } catch (const IOError& e) {
    const std::string msg = e.what();
    EXPECT_LT(msg.size(), 400u) << msg.substr(0, 400);
    EXPECT_NE(msg.find("100001 in all"), std::string::npos) << msg;
  }
}

TEST(Csv, MessagesSayWhatIsWrongWithAValue) {
  const data::CsvOptions cls{.target = "y"};
  expect_error("x,y\n1,a\nNaN,b\n", cls, {"line 3", "\"NaN\" is not a finite number"});
  expect_error("x,y\n1,a\n1e400,b\n", cls, {"\"1e400\" is outside the float32 range"});
  expect_error("x,y\n1,a\n-1e39,b\n", cls, {"\"-1e39\" is outside the float32 range"});
  expect_error("x,y\n1,a\n,b\n", cls, {"empty field"});
  expect_error("x,y\n1,a\nabc,b\n", cls, {"cannot read \"abc\" as a number", "hint"});
  // a header that reads as one column: the separator is probably another one
  expect_error("x;y\n1;a\n", cls, {"no column 'y'", "separated by ';'"});
  expect_error("x\ty\n1\ta\n", cls, {"separated by tabs"});
}

TEST(Csv, BinaryOrUtf16FilesGiveReadableErrors) {
  expect_error(std::string("\xFF\xFEx\0,\0y\0\n\0", 10), {.target = "y"}, {"UTF-16", "UTF-8"});
  try {
    CsvDataset::parse(std::string("\x1f\x8b\x08\0junk\n1\n", 10), {.target = "y"});
    FAIL();
  } catch (const IOError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("\\x1f\\x8b\\x08\\x00junk"), std::string::npos) << msg;
    for (char c : msg) EXPECT_FALSE(static_cast<unsigned char>(c) >= 0x80) << msg;
    for (char c : msg) EXPECT_FALSE(static_cast<unsigned char>(c) < 0x20) << msg;
  }
  expect_error(
      "gr\xC3\xB6\xC3\x9F"
      "e,y\n1,a\n",
      {.target = "z"},
      {"columns: gr\xC3\xB6\xC3\x9F"
       "e, y"});
  // feature names with spaces around them (as in --features "a, b") still match
  auto ds = CsvDataset::parse("a,b,y\n1,2,p\n3,4,q\n", {.target = "y", .features = {"b", " a"}});
  EXPECT_EQ(ds->x().to_vector(), (std::vector<double>{2, 1, 4, 3}));
}

TEST(Csv, TabAndOtherDelimiters) {
  auto ds = CsvDataset::parse("x\ty\n1.5\ta\n2\tb\n", {.target = "y", .delimiter = '\t'});
  EXPECT_EQ(ds->x().to_vector(), (std::vector<double>{1.5, 2}));
  EXPECT_THROW(CsvDataset::parse("x,y\n1,a\n", {.target = "y", .delimiter = '"'}), ValueError);
}
