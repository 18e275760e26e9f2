import CLapack
import Curvlinops
import Foundation

print(String(cString: openblas_get_config()))
