# Reference group-sequential boundaries from rpact (Debian package r-cran-rpact).
# Regenerate: Rscript tests/data/rpact_boundaries.R > tests/data/rpact_boundaries.csv
suppressMessages(library(rpact))
cat(sprintf("# rpact %s, R %s\n", packageVersion("rpact"), getRversion()))
cat("design,sided,alpha,gamma,information,critical_values,cumulative_alpha,futility\n")
emit <- function(name, d, gamma = NA, fut = NA) {
  cat(sprintf("%s,%d,%g,%s,%s,%s,%s,%s\n", name, d$sided, d$alpha, ifelse(is.na(gamma), "", format(gamma)),
              paste(format(d$informationRates, digits = 15), collapse = ";"),
              paste(format(d$criticalValues, digits = 15), collapse = ";"),
              paste(format(d$alphaSpent, digits = 15), collapse = ";"),
              ifelse(all(is.na(fut)), "", paste(format(fut, digits = 15), collapse = ";"))))
}
for (k in 2:4) {
  for (sided in 1:2) {
    a <- if (sided == 1) 0.025 else 0.05
    emit("obrien_fleming", getDesignGroupSequential(kMax = k, alpha = a, sided = sided, typeOfDesign = "asOF"))
    emit("pocock", getDesignGroupSequential(kMax = k, alpha = a, sided = sided, typeOfDesign = "asP"))
  }
}
for (g in c(-4, -2, 1)) {
  emit("hsd", getDesignGroupSequential(kMax = 3, alpha = 0.025, sided = 1, typeOfDesign = "asHSD", gammaA = g,
                                       informationRates = c(0.3, 0.7, 1)), gamma = g)
  emit("hsd", getDesignGroupSequential(kMax = 4, alpha = 0.05, sided = 1, typeOfDesign = "asHSD", gammaA = g,
                                       informationRates = c(0.25, 0.4, 0.8, 1)), gamma = g)
}
emit("obrien_fleming", getDesignGroupSequential(kMax = 3, alpha = 0.1, sided = 1, typeOfDesign = "asOF",
                                                informationRates = c(0.4, 0.7, 1)))
